import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlvUrlSigner } from '../../../server/src/live/flv-url.ts';

const dir = mkdtempSync(join(tmpdir(), 'hr-flv-url-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('signed FLV URLs', () => {
  let now = Date.parse('2026-12-05T08:00:00.000Z');
  const signer = FlvUrlSigner.open(dir, 60, () => now);
  const path = '/live/flv/h1-wide.flv';
  const parse = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);

  it('keeps its secret in DATA_DIR, mode 0600, and reuses it', () => {
    expect(statSync(join(dir, 'flv-url.key')).mode & 0o777).toBe(0o600);
    const again = FlvUrlSigner.open(dir, 60, () => now);
    expect(again.check(path, parse(signer.sign(path, 'supervisor').url))).toBe('ok');
  });

  it('binds the path, the user and the expiry', () => {
    const { url, expiresAt } = signer.sign(path, 'supervisor');
    expect(expiresAt).toBe('2026-12-05T08:01:00.000Z');
    const q = parse(url);
    expect(q.user).toBe('supervisor');
    expect(signer.check(path, q)).toBe('ok');
    expect(signer.check('/live/flv/h1-party.flv', q)).toBe('forged');
    expect(signer.check(path, { ...q, user: 'clerk' })).toBe('forged');
    expect(signer.check(path, { ...q, exp: String(Number(q.exp) + 60) })).toBe('forged');
    expect(signer.check(path, { ...q, sig: undefined })).toBe('forged');
    expect(signer.check(path, { ...q, exp: ['1', '2'] })).toBe('forged');
  });

  it('expires after its time to live', () => {
    const q = parse(signer.sign(path, 'supervisor').url);
    now += 60_000;
    expect(signer.check(path, q)).toBe('ok');
    now += 1000;
    expect(signer.check(path, q)).toBe('expired');
  });

  it('is not accepted by a server with another secret', () => {
    const other = mkdtempSync(join(tmpdir(), 'hr-flv-url-'));
    try {
      expect(FlvUrlSigner.open(other, 60, () => now).check(path, parse(signer.sign(path, 'supervisor').url))).toBe('forged');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
