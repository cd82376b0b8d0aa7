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
});
