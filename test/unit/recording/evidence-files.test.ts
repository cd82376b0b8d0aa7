import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adoptFile, hashFile, isWritable, makeReadOnly, SealedEvidenceError, sessionCameraDir, shanghaiDate, unindexedFiles, writeFileAtomic } from '../../../server/src/recording/evidence-files.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'hr-evidence-'));

describe('evidence files', () => {
  it('dates a session directory by its start in Beijing time', () => {
    expect(shanghaiDate(new Date('2026-12-04T15:59:59.999Z'))).toBe('2026-12-04');
    expect(shanghaiDate(new Date('2026-12-04T16:00:00.000Z'))).toBe('2026-12-05');
    expect(sessionCameraDir('/data', new Date('2026-12-04T16:30:00Z'), 's1', 'h1-wide')).toBe('/data/recordings/2026-12-05/s1/h1-wide');
  });

  it('adopts a spool segment by rename, unchanged, and hashes it as a stream', async () => {
    const root = dir();
    const spool = join(root, 'spool', 'seg-1.ts');
    mkdirSync(join(root, 'spool'));
    const content = Buffer.alloc(300_000, 7);
    writeFileSync(spool, content);
    const expected = createHash('sha256').update(content).digest('hex');
    expect(await hashFile(spool)).toEqual({ sha256: expected, bytes: 300_000 });
    const destination = join(root, 'recordings', 'd', 's', 'c', '000001.ts');
    await adoptFile(spool, destination, expected);
    expect(existsSync(spool)).toBe(false);
    expect(readFileSync(destination)).toEqual(content);
  });

  it('writes atomically and seals read-only', async () => {
    const root = dir();
    const manifest = join(root, 's', 'notes.json');
    await writeFileAtomic(manifest, '{"a":1}');
    await writeFileAtomic(manifest, '{"a":2}');
    expect(readFileSync(manifest, 'utf8')).toBe('{"a":2}');
    expect(await isWritable(manifest)).toBe(true);
    await makeReadOnly([manifest]);
    expect(statSync(manifest).mode & 0o777).toBe(0o444);
    expect(statSync(join(root, 's')).mode & 0o777).toBe(0o555);
    expect(await isWritable(manifest)).toBe(false);
  });

  it('refuses to write into a sealed session even where the file modes would let root do it', async () => {
    const root = dir();
    const session = join(root, 'recordings', '2026-12-04', 's1');
    const segment = join(session, 'h1-wide', '000001.ts');
    const spool = join(root, 'seg.ts');
    writeFileSync(spool, 'x');
    const sha = createHash('sha256').update('x').digest('hex');
    await adoptFile(spool, segment, sha);
    await writeFileAtomic(join(session, 'manifest.json'), '{}');
    await makeReadOnly([segment, join(session, 'manifest.json')]);
    writeFileSync(spool, 'x');
    // Root passes mode bits (this suite runs as root in CI): the server's own check must refuse.
    await expect(adoptFile(spool, join(session, 'h1-wide', '000002.ts'), sha)).rejects.toBeInstanceOf(SealedEvidenceError);
    await expect(writeFileAtomic(join(session, 'manifest.json'), '{"tampered":true}')).rejects.toBeInstanceOf(SealedEvidenceError);
    await expect(adoptFile(spool, segment, sha)).rejects.toBeInstanceOf(SealedEvidenceError);
    expect(readFileSync(join(session, 'manifest.json'), 'utf8')).toBe('{}');
    expect(existsSync(spool)).toBe(true);
  });

  it('finds segment files the index does not list, and leaves them in place', async () => {
    const root = dir();
    const session = join(root, 'recordings', '2026-12-04', 's1');
    mkdirSync(join(session, 'cam-a'), { recursive: true });
    writeFileSync(join(session, 'cam-a', '000001.ts'), 'a');
    writeFileSync(join(session, 'cam-a', '000002.ts'), 'b');
    const indexed = new Set(['recordings/2026-12-04/s1/cam-a/000001.ts']);
    expect(await unindexedFiles(root, session, indexed)).toEqual(['recordings/2026-12-04/s1/cam-a/000002.ts']);
    expect(existsSync(join(session, 'cam-a', '000002.ts'))).toBe(true);
    expect(await unindexedFiles(root, join(root, 'missing'), indexed)).toEqual([]);
  });
});
