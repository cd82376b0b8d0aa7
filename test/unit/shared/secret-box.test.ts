import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../../server/src/shared/secret-box.ts';

describe('SecretBox', () => {
  it('creates a 0600 key once and seals so that only that key opens', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-secrets-'));
    const box = SecretBox.open(dir);
    expect(statSync(join(dir, 'secrets.key')).mode & 0o777).toBe(0o600);
    const sealed = box.seal('camera-password');
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(sealed).not.toContain('camera-password');
    expect(box.seal('camera-password')).not.toBe(sealed);
    const key = readFileSync(join(dir, 'secrets.key'), 'utf8');
    expect(SecretBox.open(dir).open(sealed)).toBe('camera-password');
    expect(readFileSync(join(dir, 'secrets.key'), 'utf8')).toBe(key);
    const other = SecretBox.open(mkdtempSync(join(tmpdir(), 'hr-secrets-')));
    expect(() => other.open(sealed)).toThrow();
  });
});
