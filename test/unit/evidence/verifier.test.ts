import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SigningKey } from '../../../server/src/evidence/signing-key.ts';
import { keyFingerprint, verifyDirectory } from '../../../server/src/evidence/verifier/verify.mjs';

// The verifier on a sealed session directory built by hand (no media, no server): what the CLI's
// `verify --session` reads. The package checks run end to end in test/integration/evidence-export.test.ts.
const dirs: string[] = [];
const temp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'hr-verify-unit-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A sealed session directory of one camera with three segments, signed by a fresh key. */
function sealedSession() {
  const key = SigningKey.open(temp());
  const dir = temp();
  mkdirSync(join(dir, 'cam-1'));
  const segments = [];
  let prev: string | null = null;
  for (let seq = 1; seq <= 3; seq++) {
    const data = Buffer.from(`segment ${seq} `.repeat(1000));
    writeFileSync(join(dir, 'cam-1', `00000${seq}.ts`), data);
    segments.push({ seq, file: `recordings/x/cam-1/00000${seq}.ts`, startedAt: new Date(seq * 2000).toISOString(), endedAt: new Date(seq * 2000 + 2000).toISOString(), durationMs: 2000, sha256: sha(data), prevSha256: prev });
    prev = sha(data);
  }
  const manifest = `${JSON.stringify({ session: { id: 's1' }, marks: [], corrections: [], interruptions: [], cameras: [{ cameraId: 'cam-1', segments }] }, null, 2)}\n`;
  writeFileSync(join(dir, 'manifest.sig'), key.sign(manifest));
  writeFileSync(join(dir, 'public-key.pem'), key.publicKeyPem);
  writeFileSync(join(dir, 'manifest.json'), manifest);
  return { key, dir };
}

describe('signing key', () => {
  it('is generated once with a 0600 private key and reopened unchanged; the fingerprint is the SHA-256 of the public key DER', () => {
    const dataDir = temp();
    const first = SigningKey.open(dataDir);
    expect(first.created).toBe(true);
    expect(statSync(join(dataDir, 'keys', 'evidence-signing.key')).mode & 0o777).toBe(0o600);
    const again = SigningKey.open(dataDir);
    expect(again.created).toBe(false);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(keyFingerprint(first.publicKeyPem)).toBe(first.fingerprint);
    expect(first.fingerprintText).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  });
});

describe('verifyDirectory on a sealed session directory', () => {
  it('passes an intact directory, anchored by --key, and says unanchored without it', async () => {
    const { key, dir } = sealedSession();
    const anchored = await verifyDirectory(dir, { key: key.fingerprintText });
    expect(anchored.failures).toEqual([]);
    expect(anchored.code).toBe(0);
    const loose = await verifyDirectory(dir);
    expect(loose.code).toBe(0);
    expect(loose.lines.join('\n')).toContain(`UNANCHORED: fingerprint ${key.fingerprintText}`);
  });

  it('names a changed segment, a missing one, an extra file and another key', async () => {
    const { dir } = sealedSession();
    writeFileSync(join(dir, 'cam-1', '000002.ts'), 'changed');
    rmSync(join(dir, 'cam-1', '000003.ts'));
    writeFileSync(join(dir, 'cam-1', 'notes.txt'), 'extra');
    const result = await verifyDirectory(dir, { key: '00'.repeat(32) });
    expect(result.code).toBe(1);
    expect(result.failures).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^signed by another key/),
        expect.stringMatching(/^segment 2 of camera cam-1 .* does not match the manifest's hash/),
        'missing: cam-1/000003.ts (segment 3 of camera cam-1)',
        expect.stringMatching(/^extra file: cam-1\/notes\.txt/),
      ]),
    );
  });

  it('checks the signature before anything else and reports a missing one', async () => {
    const { dir } = sealedSession();
    rmSync(join(dir, 'manifest.sig'));
    const result = await verifyDirectory(dir);
    expect(result.code).toBe(1);
    expect(result.failures[0]).toMatch(/^missing: manifest\.sig/);
  });

  it('answers 2 for what is not a package', async () => {
    expect((await verifyDirectory(join(temp(), 'nothing'))).code).toBe(2);
    expect((await verifyDirectory(temp())).code).toBe(2);
  });
});
