import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { pause, waitFor } from '../helpers/wait.ts';

// FLV fallback of live view: the demo camera h1-wide published on demand to the embedded
// node-media-server and proxied through the main port behind the login and a signed URL.
const CAMERA = 'h1-wide';
const TTL_S = 5;
let server: TestServer;
let supervisor: ApiClient;

/** Command lines of the server's ffmpeg children publishing a camera to the loopback RTMP server. */
function flvPublishers(cameraId: string): string[] {
  const target = `rtmp://127.0.0.1:${mediaPorts().rtmpPort}/live/${cameraId}?key=`;
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.startsWith(target))) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

/** The loopback ports the server's media server bound (from its log). */
function mediaPorts(): { rtmpPort: number; httpPort: number } {
  const line = server.output.find((l) => l.includes('media server listening on 127.0.0.1'));
  if (!line) throw new Error('the media server did not start');
  return JSON.parse(line) as { rtmpPort: number; httpPort: number };
}

/** Reads an FLV stream until it has the header and a coded video frame (not only the sequence header). */
async function readFlv(response: Response, timeoutMs: number): Promise<{ header: string; videoFrames: number; keyframe: boolean }> {
  const reader = response.body!.getReader();
  let buf = Buffer.alloc(0);
  let videoFrames = 0;
  let keyframe = false;
  let offset = 13; // FLV header (9) + PreviousTagSize0 (4)
  const until = Date.now() + timeoutMs;
  try {
    while (Date.now() < until && !(keyframe && videoFrames >= 5)) {
      const next = await Promise.race([reader.read(), pause(until - Date.now()).then(() => ({ done: true, value: undefined }))]);
      if (next.done || !next.value) break;
      buf = Buffer.concat([buf, Buffer.from(next.value)]);
      while (buf.length >= offset + 11) {
        const type = buf[offset]!;
        const size = buf.readUIntBE(offset + 1, 3);
        if (buf.length < offset + 11 + size + 4) break;
        const data = buf.subarray(offset + 11, offset + 11 + size);
        // Video tag, AVC, AVCPacketType 1 (a coded frame); frame type 1 is a keyframe.
        if (type === 9 && (data[0]! & 0x0f) === 7 && data[1] === 1) {
          videoFrames++;
          if (data[0]! >> 4 === 1) keyframe = true;
        }
        offset += 11 + size + 4;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return { header: buf.subarray(0, 3).toString('latin1'), videoFrames, keyframe };
}

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { mediaServer: { rtmpPort: 0, flvUrlTtlS: TTL_S, flvIdleStopS: 1 } } });
  supervisor = new ApiClient(server.url);
  await supervisor.login('supervisor');
  await waitFor(async () => {
    const rooms = (await supervisor.get('/api/rooms')).json as { cameras: { id: string; state: string }[] }[];
    return rooms.some((r) => r.cameras.some((c) => c.id === CAMERA && c.state === 'online'));
  }, 30_000, `camera ${CAMERA} online`);
});

afterAll(async () => {
  await server?.stop();
});

describe('FLV live view through the main port', () => {
  it('gives a supervisor a signed, short-lived URL and streams FLV video from it', async () => {
    const issued = await supervisor.get(`/api/live/cameras/${CAMERA}/flv-url`);
    expect(issued.status).toBe(200);
    expect(issued.json.url).toMatch(new RegExp(`^/live/flv/${CAMERA}\\.flv\\?exp=\\d+&user=supervisor&sig=[\\w-]+$`));
    const expiresIn = Date.parse(issued.json.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(TTL_S * 1000 + 1000);

    const response = await fetch(`${server.url}${issued.json.url}`, { headers: { cookie: supervisor.sessionCookie! } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/x-flv');
    const flv = await readFlv(response, 20_000);
    expect(flv.header).toBe('FLV');
    expect(flv.keyframe).toBe(true);
    expect(flv.videoFrames).toBeGreaterThanOrEqual(5);
    // ONE publisher ffmpeg for the camera while it is watched; it goes a little after the last viewer.
    expect(flvPublishers(CAMERA).length).toBe(1);
    await waitFor(() => flvPublishers(CAMERA).length === 0, 10_000, 'FLV publisher stopped after the last viewer left');
  }, 45_000);

  it('answers 401 without the login cookie', async () => {
    const issued = await supervisor.get(`/api/live/cameras/${CAMERA}/flv-url`);
    const response = await fetch(`${server.url}${issued.json.url}`);
    expect(response.status).toBe(401);
    expect((await errorOf(response)).code).toBe('unauthorized');
  });

  it('answers 403 to a forged signature, another user, or an expired URL', async () => {
    const issued = await supervisor.get(`/api/live/cameras/${CAMERA}/flv-url`);
    const url = new URL(issued.json.url, server.url);
    const cookie = { cookie: supervisor.sessionCookie! };

    const forged = new URL(url);
    const sig = forged.searchParams.get('sig')!;
    forged.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    let response = await fetch(forged, { headers: cookie });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).code).toBe('flv_url_invalid');

    const longer = new URL(url);
    longer.searchParams.set('exp', String(Number(url.searchParams.get('exp')) + 3600));
    response = await fetch(longer, { headers: cookie });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).code).toBe('flv_url_invalid');

    // The supervisor's URL with the clerk's login: the URL is bound to its user.
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk');
    response = await fetch(url, { headers: { cookie: clerk.sessionCookie! } });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).code).toBe('flv_url_invalid');

    await pause(TTL_S * 1000 + 1200);
    response = await fetch(url, { headers: cookie });
    expect(response.status).toBe(403);
    expect((await errorOf(response)).code).toBe('flv_url_expired');
  }, 20_000);

  it('gives no FLV URL to legal staff or administrators, and one to a clerk of the room', async () => {
    for (const username of ['legal', 'admin', 'security', 'auditor']) {
      const client = new ApiClient(server.url);
      await client.login(username);
      const response = await client.get(`/api/live/cameras/${CAMERA}/flv-url`);
      expect(response.status, username).toBe(403);
      expect(response.json.error.code).toBe('forbidden');
    }
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk');
    expect((await clerk.get(`/api/live/cameras/${CAMERA}/flv-url`)).status).toBe(200);
    expect((await supervisor.get('/api/live/cameras/no-such-camera/flv-url')).status).toBe(404);
    expect((await new ApiClient(server.url).get(`/api/live/cameras/${CAMERA}/flv-url`)).status).toBe(401);
  });

  it('keeps node-media-server on loopback and off the main port', async () => {
    expect(server.output.filter((l) => l.includes('media server listening on 127.0.0.1')).length).toBe(1);
    const { rtmpPort, httpPort } = mediaPorts();
    expect(rtmpPort).toBeGreaterThan(0);
    expect(httpPort).toBeGreaterThan(0);
    const listening = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).filter((l) => l.trim().split(/\s+/)[3] === '0A');
    for (const port of [rtmpPort, httpPort]) {
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      const local = listening.map((l) => l.trim().split(/\s+/)[1]!).filter((a) => a.endsWith(`:${hex}`));
      expect(local).toEqual(['0100007F:' + hex]);
    }
    // Its own admin console and API are not served, and nothing of it answers on the main port.
    expect((await fetch(`http://127.0.0.1:${httpPort}/admin/`)).status).toBe(404);
    expect((await fetch(`${server.url}/live/${CAMERA}.flv`)).status).toBe(404);
  });
});
