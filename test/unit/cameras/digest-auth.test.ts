import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authorizationHeader, parseChallenge } from '../../../server/src/cameras/digest-auth.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('digest authentication (client side)', () => {
  it('prefers Digest over Basic among several challenges', () => {
    const challenge = parseChallenge(['Basic realm="cam"', 'Digest realm="IP Camera(12345)", nonce="abc123", qop="auth", opaque="xyz"']);
    expect(challenge).toEqual({ scheme: 'Digest', realm: 'IP Camera(12345)', nonce: 'abc123', opaque: 'xyz', qop: 'auth', algorithm: undefined });
  });

  it('answers an RFC 2617 challenge without qop with the expected response', () => {
    const header = authorizationHeader({ scheme: 'Digest', realm: 'r', nonce: 'n' }, { username: 'admin', password: 'pw' }, 'DESCRIBE', 'rtsp://127.0.0.1/main');
    const expected = md5(`${md5('admin:r:pw')}:n:${md5('DESCRIBE:rtsp://127.0.0.1/main')}`);
    expect(header).toBe(`Digest username="admin", realm="r", nonce="n", uri="rtsp://127.0.0.1/main", response="${expected}"`);
  });

  it('answers a qop=auth challenge with nc, cnonce and a matching response', () => {
    const header = authorizationHeader({ scheme: 'Digest', realm: 'r', nonce: 'n', qop: 'auth,auth-int' }, { username: 'u', password: 'p' }, 'GET', '/snap.jpg');
    const cnonce = /cnonce="([0-9a-f]+)"/.exec(header)![1]!;
    const response = /response="([0-9a-f]+)"/.exec(header)![1];
    expect(header).toContain('qop=auth, nc=00000001');
    expect(response).toBe(md5(`${md5('u:r:p')}:n:00000001:${cnonce}:auth:${md5('GET:/snap.jpg')}`));
  });

  it('answers Basic with base64 credentials', () => {
    expect(authorizationHeader({ scheme: 'Basic', realm: 'x' }, { username: 'a', password: 'b' }, 'GET', '/')).toBe('Basic YTpi');
  });
});
