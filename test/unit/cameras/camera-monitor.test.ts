import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CameraMonitor } from '../../../server/src/cameras/camera-monitor.ts';
import type { CameraState } from '../../../server/src/cameras/camera-state.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** An RTSP endpoint whose DESCRIBE answers one video codec. */
async function cameraWithVideo(codec: string): Promise<string> {
  const sdp = `v=0\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 ${codec}/90000\r\n`;
  server = createServer((socket) =>
    socket.on('data', (data) => {
      const cseq = /CSeq: (\d+)/.exec(data.toString())![1];
      socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`);
    }),
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `rtsp://127.0.0.1:${(server!.address() as { port: number }).port}/main`;
}

async function stateFor(codec: string): Promise<{ states: CameraState[]; reason: string | null }> {
  const mainUrl = await cameraWithVideo(codec);
  const states: CameraState[] = [];
  const monitor = new CameraMonitor({
    camera: { id: 'c', name: 'c', roomId: null, role: '', enabled: true, source: { kind: 'rtsp', mainUrl } },
    credentials: () => null,
    onState: (state) => states.push(state),
    log: silentLogger(),
    intervalMs: 60_000,
    timeoutMs: 2000,
  });
  const result = await monitor.check();
  monitor.close();
  return { states, reason: result.reason };
}

describe('camera states by codec', () => {
  it('H.264 is online', async () => {
    expect(await stateFor('H264')).toEqual({ states: ['probing', 'online'], reason: null });
  });

  it('H.265 is online with a note that browsers may not play it live', async () => {
    const { states, reason } = await stateFor('H265');
    expect(states.at(-1)).toBe('online');
    expect(reason).toMatch(/browsers may not play it live/);
  });

  it('a codec that cannot be recorded is unsupported', async () => {
    const { states, reason } = await stateFor('JPEG');
    expect(states.at(-1)).toBe('unsupported');
    expect(reason).toMatch(/JPEG cannot be recorded/);
  });
});
