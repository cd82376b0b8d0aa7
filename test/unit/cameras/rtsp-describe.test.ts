import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRtsp, parseSdp } from '../../../server/src/cameras/rtsp-describe.ts';

const SDP = [
  'v=0',
  'o=- 0 0 IN IP4 127.0.0.1',
  's=Camera',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=control:trackID=0',
  'm=audio 0 RTP/AVP 8',
  'a=control:trackID=1',
  '',
].join('\r\n');

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A one-connection RTSP responder that answers each request with `answer(request)`. */
async function fakeCamera(answer: (request: string) => string | null): Promise<number> {
  server = createServer((socket) => {
    socket.on('data', (data) => {
      const reply = answer(data.toString());
      if (reply !== null) socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as { port: number }).port;
}

const ok = (cseq: string) => `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`;
const cseqOf = (request: string) => /CSeq: (\d+)/.exec(request)![1]!;

describe('RTSP DESCRIBE probe', () => {
  it('parses video and audio codecs, including a static payload type', () => {
    expect(parseSdp(SDP)).toEqual([
      { type: 'video', codec: 'H264', clockRate: 90000, control: 'trackID=0' },
      { type: 'audio', codec: 'PCMA', clockRate: 8000, control: 'trackID=1' },
    ]);
  });

  it('answers a digest challenge on the same connection', async () => {
    const port = await fakeCamera((request) =>
      request.includes('Authorization: Digest')
        ? ok(cseqOf(request))
        : `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseqOf(request)}\r\nWWW-Authenticate: Digest realm="cam", nonce="42"\r\n\r\n`,
    );
    const description = await describeRtsp(`rtsp://127.0.0.1:${port}/main`, { username: 'admin', password: 'x' }, 2000);
    expect(description.media.map((m) => m.codec)).toEqual(['H264', 'PCMA']);
  });

  it('reports refused credentials, a refused connection and a hung camera by kind', async () => {
    const port = await fakeCamera((request) => `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseqOf(request)}\r\nWWW-Authenticate: Digest realm="cam", nonce="42"\r\n\r\n`);
    await expect(describeRtsp(`rtsp://127.0.0.1:${port}/main`, { username: 'a', password: 'b' }, 2000)).rejects.toMatchObject({ kind: 'unauthorized' });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    await expect(describeRtsp(`rtsp://127.0.0.1:${port}/main`, null, 2000)).rejects.toMatchObject({ kind: 'unreachable' });
    const hung = await fakeCamera(() => null);
    const started = Date.now();
    await expect(describeRtsp(`rtsp://127.0.0.1:${hung}/main`, null, 300)).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
