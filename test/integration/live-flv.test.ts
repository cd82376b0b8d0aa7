import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

/** Reads an FLV stream as it comes and counts its coded video frames (not the sequence header). */
class FlvReader {
  header = '';
  videoFrames = 0;
  keyframes = 0;
  /** AAC frames (sound format 10, AACPacketType 1). */
  aacFrames = 0;
  private buf = Buffer.alloc(0);
  private offset = 13; // FLV header (9) + PreviousTagSize0 (4)
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** Reads until `done()` holds or the time is up; returns whether it held. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!done() && Date.now() < until) {
      const next = await Promise.race([this.reader.read(), pause(Math.max(0, until - Date.now())).then(() => null)]);
      if (!next || next.done) break;
      this.buf = Buffer.concat([this.buf, Buffer.from(next.value)]);
      if (!this.header && this.buf.length >= 3) this.header = this.buf.subarray(0, 3).toString('latin1');
      while (this.buf.length >= this.offset + 11) {
        const type = this.buf[this.offset]!;
        const size = this.buf.readUIntBE(this.offset + 1, 3);
        if (this.buf.length < this.offset + 11 + size + 4) break;
        const data = this.buf.subarray(this.offset + 11, this.offset + 11 + size);
        // Video tag, AVC, AVCPacketType 1 (a coded frame); frame type 1 is a keyframe.
        if (type === 9 && (data[0]! & 0x0f) === 7 && data[1] === 1) {
          this.videoFrames++;
          if (data[0]! >> 4 === 1) this.keyframes++;
        }
        if (type === 8 && data[0]! >> 4 === 10 && data[1] === 1) this.aacFrames++;
        this.offset += 11 + size + 4;
      }
      // Keep memory flat: drop what was parsed.
      this.buf = this.buf.subarray(this.offset);
      this.offset = 0;
    }
    return done();
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => undefined);
  }
}

/** The pid of the server's recording ffmpeg of a camera (it writes the camera's spool segments). */
function ingestPid(cameraId: string): string | undefined {
  const spool = `${server.dataDir}/spool/${cameraId}/`;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(spool);
      } catch {
        return false;
      }
    });
}

const custodyRows = (cameraId: string) => {
  const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM custody_log WHERE camera_id = ? ORDER BY id').all(cameraId) as { username: string; room_id: string | null; ended_at: string | null; detail: string }[];
  } finally {
    db.close();
  }
};

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
    const flv = new FlvReader(response);
    expect(await flv.until(() => flv.keyframes >= 1 && flv.videoFrames >= 5 && flv.aacFrames >= 5, 20_000)).toBe(true);
    expect(flv.header).toBe('FLV');
    // ONE publisher ffmpeg for the camera while it is watched; the viewing is in the custody log.
    expect(flvPublishers(CAMERA).length).toBe(1);
    await flv.cancel();
    await waitFor(() => custodyRows(CAMERA).some((r) => r.ended_at !== null), 5000, 'custody entry closed');
    const [entry] = custodyRows(CAMERA);
    expect(entry).toMatchObject({ username: 'supervisor', room_id: 'hearing-1' });
    expect(JSON.parse(entry!.detail)).toMatchObject({ transport: 'flv', endReason: 'viewer_left' });
    // The publisher goes a little after the last viewer.
    await waitFor(() => flvPublishers(CAMERA).length === 0, 10_000, 'FLV publisher stopped after the last viewer left');
  }, 45_000);

  it('restarts a killed FLV publisher by itself, the viewer reads on, and the recording ffmpeg is untouched', async () => {
    const issued = await supervisor.get(`/api/live/cameras/${CAMERA}/flv-url`);
    const response = await fetch(`${server.url}${issued.json.url}`, { headers: { cookie: supervisor.sessionCookie! } });
    const flv = new FlvReader(response);
    try {
      expect(await flv.until(() => flv.videoFrames >= 5, 20_000)).toBe(true);
      await waitFor(() => flvPublishers(CAMERA).length === 1, 10_000, 'the FLV publisher');
      const ingest = ingestPid(CAMERA);
      expect(ingest).toBeDefined();
      const [killed] = flvPublishers(CAMERA);
      process.kill(Number(killed), 'SIGKILL');
      const gapsBefore = server.output.filter((l) => l.includes('"camera gap"')).length;
      await waitFor(() => flvPublishers(CAMERA).some((pid) => pid !== killed), 10_000, 'a new FLV publisher');
      const framesAtRestart = flv.videoFrames;
      expect(await flv.until(() => flv.videoFrames >= framesAtRestart + 25, 20_000)).toBe(true);
      expect(ingestPid(CAMERA)).toBe(ingest);
      expect(server.output.filter((l) => l.includes('"camera gap"')).length).toBe(gapsBefore);
    } finally {
      await flv.cancel();
    }
  }, 60_000);

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
    // The publishers' key never reaches the log.
    expect(server.output.some((l) => l.includes(`/live/${CAMERA}?key=`))).toBe(true);
    expect(server.output.filter((l) => /\?key=(?!\*\*\*)/.test(l))).toEqual([]);
  });
});
