import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGstRtspServer, type GstRtspServer } from '../helpers/gst-rtsp-server.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

// The server's camera path against an RTSP implementation that is not ours: GStreamer's RTSP server.
let gst: GstRtspServer;
let server: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  gst = await startGstRtspServer(['aac', 'pcma']);
  server = await startTestServer();
  admin = new ApiClient(server.url);
  await admin.login('admin');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await gst?.stop();
});

describe('a direct-URL camera served by GStreamer', () => {
  it.each([
    ['aac', 'MPEG4-GENERIC', 'AAC'],
    ['pcma', 'PCMA', 'PCM_ALAW'],
  ])('with H.264 + %s is probed online and its stream pulled by the server', async (mount, sdpAudio, pulledAudio) => {
    const id = `gst-${mount}`;
    const created = await admin.post('/api/cameras', { id, name: `GStreamer ${mount}`, roomId: null, rtsp: { mainUrl: gst.urls[mount] } });
    expect(created.status).toBe(201);
    const tested = await admin.post(`/api/cameras/${id}/test`);
    expect(tested.json).toMatchObject({
      state: 'online',
      reason: null,
      probe: { video: { codec: 'H264' }, audio: { codec: sdpAudio } },
      media: { video: { codec: 'H264' }, audio: { codec: pulledAudio } },
    });
    expect(tested.json.media.video.width).toBeGreaterThan(0);
  });

  it('with H.264 + G.711 is recorded into a session with AAC audio', async () => {
    expect((await admin.post('/api/rooms', { id: 'hearing-gst', name: '互通测试室', kind: 'hearing' })).status).toBe(201);
    expect((await admin.request('PUT', '/api/cameras/gst-pcma', { name: 'GStreamer pcma', roomId: 'hearing-gst', role: '全景', rtsp: { mainUrl: gst.urls.pcma } })).status).toBe(200);
    const security = new ApiClient(server.url);
    await security.login('security');
    const users = (await security.get('/api/users')).json as { id: number; username: string }[];
    const clerkId = users.find((u) => u.username === 'clerk')!.id;
    expect((await security.patch(`/api/users/${clerkId}`, { rooms: ['hearing-1', 'interview-1', 'hearing-gst'] })).status).toBe(200);
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk');
    const created = await clerk.post('/api/sessions', { caseNumber: 'GST-1', title: '互通录像', procedure: 'statement-defence', roomId: 'hearing-gst', participants: [{ name: '调查人员', role: 'investigator', badgeNumber: '9' }] });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as string;
    // The ingest starts once the camera is probed online; wait for spool media before starting.
    for (let i = 0; i < 80 && !(await admin.get('/api/cameras')).json.some((c: { id: string; state: string }) => c.id === 'gst-pcma' && c.state === 'online'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await clerk.post(`/api/sessions/${id}/start`)).status).toBe(200);
    let segments: { cameraId: string; sha256: string }[] = [];
    for (let i = 0; i < 80 && segments.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      segments = (await clerk.get(`/api/sessions/${id}/segments`)).json;
    }
    expect(segments.length).toBeGreaterThanOrEqual(3);
    expect(new Set(segments.map((s) => s.cameraId))).toEqual(new Set(['gst-pcma']));
    expect((await clerk.post(`/api/sessions/${id}/stop`)).status).toBe(200);
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const file = (db.prepare('SELECT file FROM segments WHERE session_id = ? ORDER BY seq LIMIT 1').get(id) as { file: string }).file;
    db.close();
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'json', join(server.dataDir, file)], { encoding: 'utf8' }));
    expect(probe.streams.map((s: { codec_name: string }) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  }, 60_000);
});
