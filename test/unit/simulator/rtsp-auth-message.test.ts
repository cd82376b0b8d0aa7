import { describe, expect, it } from 'vitest';
import { linearToAlaw, parseAdts, preparePcma } from '../../../server/src/simulator/media/audio-frames.ts';
import { DigestAuth, digestAuthorization, parseAuthParams } from '../../../server/src/simulator/rtsp/digest-auth.ts';
import { formatResponse, RtspMessageParser } from '../../../server/src/simulator/rtsp/rtsp-message.ts';

describe('digest authentication (RFC 2617, MD5)', () => {
  const creds = { username: 'admin', password: 'sim-pass' };
  const uri = 'rtsp://127.0.0.1:8554/main';

  it('accepts the right password with and without qop, rejects a wrong one, another method or URI tampering', () => {
    for (const qop of [false, true]) {
      const auth = new DigestAuth({ realm: 'R', credentials: () => creds, qop });
      const challenge = auth.challenge();
      expect(parseAuthParams(challenge.slice(7)).qop).toBe(qop ? 'auth' : undefined);
      const header = digestAuthorization({ ...creds, method: 'DESCRIBE', uri, challenge });
      expect(header.includes('qop=auth')).toBe(qop);
      expect(auth.verify('DESCRIBE', header)).toBe(true);
      expect(auth.verify('SETUP', header)).toBe(false);
      expect(auth.verify('DESCRIBE', header.replace('response="', 'response="0'))).toBe(false);
      expect(auth.verify('DESCRIBE', digestAuthorization({ ...creds, password: 'nope', method: 'DESCRIBE', uri, challenge }))).toBe(false);
    }
  });

  it('rejects a nonce it did not issue, an expired one, and a missing header', () => {
    let now = 1_000;
    const auth = new DigestAuth({ realm: 'R', credentials: () => creds, nonceTtlMs: 100, now: () => now });
    const forged = digestAuthorization({ ...creds, method: 'PLAY', uri, challenge: 'Digest realm="R", nonce="abc"' });
    expect(auth.verify('PLAY', forged)).toBe(false);
    const header = digestAuthorization({ ...creds, method: 'PLAY', uri, challenge: auth.challenge() });
    expect(auth.verify('PLAY', header)).toBe(true);
    now += 101;
    expect(auth.verify('PLAY', header)).toBe(false);
    expect(auth.verify('PLAY', undefined)).toBe(false);
    expect(auth.verify('PLAY', 'Basic YWRtaW46c2ltLXBhc3M=')).toBe(false);
  });
});

describe('RTSP message framing', () => {
  it('parses requests and interleaved frames split across chunks', () => {
    const req = 'SETUP rtsp://h/main/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n';
    const frame = Buffer.from([0x24, 1, 0, 3, 9, 8, 7]);
    const body = 'GET_PARAMETER rtsp://h/main RTSP/1.0\r\nCSeq: 4\r\nContent-Length: 5\r\n\r\nhello';
    const all = Buffer.concat([Buffer.from(req), frame, Buffer.from(body)]);
    const parser = new RtspMessageParser();
    const items = [];
    for (let i = 0; i < all.length; i += 7) items.push(...parser.push(all.subarray(i, i + 7)));
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({ kind: 'message', startLine: ['SETUP', 'rtsp://h/main/trackID=0', 'RTSP/1.0'], headers: { cseq: '3' } });
    expect(items[1]).toEqual({ kind: 'interleaved', channel: 1, data: Buffer.from([9, 8, 7]) });
    expect(items[2]).toMatchObject({ kind: 'message', body: Buffer.from('hello') });
  });

  it('formats a response with Content-Length', () => {
    expect(formatResponse(200, { CSeq: 1 }, 'v=0\r\n').toString()).toBe('RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nv=0\r\n');
  });
});

describe('audio frames', () => {
  it('encodes G.711 A-law like the reference (silence 0xD5, full scale 0xAA / 0x2A)', () => {
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(linearToAlaw(-8)).toBe(0x55);
    const { tone, silent } = preparePcma();
    expect(tone.length).toBe(160);
    expect(silent.every((b) => b === 0xd5)).toBe(true);
    expect(new Set(tone).size).toBeGreaterThan(2);
  });

  it('strips ADTS headers and derives the AudioSpecificConfig', () => {
    const frame = Buffer.from([1, 2, 3]);
    const len = 7 + frame.length;
    // AAC-LC (profile 1), 48 kHz (index 3), mono
    const header = Buffer.from([0xff, 0xf1, (1 << 6) | (3 << 2), (1 << 6) | (len >> 11), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]);
    const parsed = parseAdts(Buffer.concat([header, frame, header, frame]));
    expect(parsed.frames).toEqual([frame, frame]);
    expect(parsed.config).toEqual(Buffer.from([0x11, 0x88]));
    expect(parsed.sampleRate).toBe(48000);
    expect(parsed.channels).toBe(1);
  });
});
