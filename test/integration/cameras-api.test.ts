import Database from 'better-sqlite3';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraState, ClientToServerEvents, ServerToClientEvents } from '../../server/src/realtime/events.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

const DEMO_CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party', 'i1-wide', 'i1-subject'];
const SIMULATOR_PASSWORD = 'camera-demo';

let server: TestServer;
let admin: ApiClient;
let socket: Socket<ServerToClientEvents, ClientToServerEvents>;
const states = new Map<string, CameraState>();
const waiters: { cameraId: string; state: CameraState; resolve: () => void }[] = [];
/** Every response body of the run, to prove no camera password ever leaves the server. */
const bodies: string[] = [];

async function call(client: ApiClient, method: string, path: string, body?: unknown) {
  const response = await client.request(method, path, body);
  bodies.push(response.text);
  return response;
}

/** Resolves when the camera is in `state`, as pushed over socket.io (or already is). */
function stateOf(cameraId: string, state: CameraState): Promise<void> {
  if (states.get(cameraId) === state) return Promise.resolve();
  return new Promise((resolve) => waiters.push({ cameraId, state, resolve }));
}

/** The simulated camera behind a demo camera: its fault control URL. */
async function controlUrlOf(cameraId: string): Promise<string> {
  const cameras = (await call(admin, 'GET', '/api/cameras')).json as { id: string; source: { url: string } }[];
  const url = new URL(cameras.find((c) => c.id === cameraId)!.source.url);
  return `http://${url.host}/simulator/faults`;
}

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { cameraHealth: { intervalS: 2, timeoutMs: 1500 } } });
  admin = new ApiClient(server.url);
  await admin.login('admin');
  socket = connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: admin.sessionCookie! } });
  socket.on('camera:state', ({ cameraId, state }) => {
    states.set(cameraId, state);
    for (const waiter of waiters.filter((w) => w.cameraId === cameraId && w.state === state)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  await new Promise((resolve) => socket.once('server:hello', resolve));
  for (const camera of (await call(admin, 'GET', '/api/cameras')).json as { id: string; state: CameraState }[]) {
    if (!states.has(camera.id)) states.set(camera.id, camera.state);
  }
}, 90_000);

afterAll(async () => {
  socket?.close();
  await server?.stop();
});

describe('the demo cameras', () => {
  it('are probed online through ONVIF with their streams, device and clock offset', async () => {
    await Promise.all(DEMO_CAMERAS.map((id) => stateOf(id, 'online')));
    const cameras = (await call(admin, 'GET', '/api/cameras')).json as any[];
    expect(cameras.map((c) => c.id).sort()).toEqual([...DEMO_CAMERAS].sort());
    for (const camera of cameras) {
      expect(camera).toMatchObject({ state: 'online', reason: null, enabled: true, source: { kind: 'onvif', username: 'admin', hasPassword: true } });
      expect(camera.probe).toMatchObject({
        device: { manufacturer: 'hearing-recorder', model: 'Simulated Camera' },
        video: { codec: 'H264', width: 1280, height: 720, fps: 25 },
        audio: { codec: 'MPEG4-GENERIC', sampleRate: 48000 },
        liveCodecWarning: false,
        hasSubStream: true,
        hasSnapshot: true,
      });
      expect(Math.abs(camera.probe.clockOffsetMs)).toBeLessThan(1500);
    }
    const rooms = (await call(admin, 'GET', '/api/rooms')).json as { cameras: { state: string }[] }[];
    expect(rooms.flatMap((r) => r.cameras.map((c) => c.state))).toEqual(['online', 'online', 'online', 'online', 'online']);
  });

  it('serves a snapshot through the server to those who may see the room', async () => {
    await stateOf('h1-wide', 'online');
    // A camera has no picture for its first second (503 camera_unavailable); nothing announces the
    // first JPEG, so ask again a few times.
    let snapshot = await fetch(`${server.url}/api/cameras/h1-wide/snapshot.jpg`, { headers: { cookie: admin.sessionCookie! } });
    for (let attempt = 0; snapshot.status === 503 && attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      snapshot = await fetch(`${server.url}/api/cameras/h1-wide/snapshot.jpg`, { headers: { cookie: admin.sessionCookie! } });
    }
    expect(snapshot.status).toBe(200);
    expect(snapshot.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await snapshot.arrayBuffer());
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg.length).toBeGreaterThan(5000);
    for (const [role, status] of [['clerk', 200], ['supervisor', 200], ['legal', 200], ['security', 403], ['auditor', 403]] as const) {
      const client = new ApiClient(server.url);
      await client.login(role);
      expect((await call(client, 'GET', '/api/cameras/h1-wide/snapshot.jpg')).status, role).toBe(status);
    }
    expect((await call(admin, 'GET', '/api/cameras/nope/snapshot.jpg')).status).toBe(404);
  });
});

describe('camera administration', () => {
  it('only the admin lists, adds, edits, tests, discovers and removes cameras', async () => {
    for (const role of ['security', 'auditor', 'clerk', 'supervisor', 'legal']) {
      const client = new ApiClient(server.url);
      await client.login(role);
      expect((await call(client, 'GET', '/api/cameras')).status, role).toBe(403);
      expect((await call(client, 'POST', '/api/cameras', { id: 'x', name: 'x', rtsp: { mainUrl: 'rtsp://127.0.0.1:9/x' } })).status, role).toBe(403);
      expect((await call(client, 'PUT', '/api/cameras/h1-wide', { name: 'x', rtsp: { mainUrl: 'rtsp://127.0.0.1:9/x' } })).status, role).toBe(403);
      expect((await call(client, 'DELETE', '/api/cameras/h1-wide')).status, role).toBe(403);
      expect((await call(client, 'POST', '/api/cameras/h1-wide/test')).status, role).toBe(403);
      expect((await call(client, 'POST', '/api/cameras/discover', { addresses: ['127.0.0.1'] })).status, role).toBe(403);
      expect((await call(client, 'POST', '/api/rooms', { id: 'r', name: 'r', kind: 'hearing' })).status, role).toBe(403);
    }
  });

  it('a test pulls the main stream for real, as the recorder will', async () => {
    const tested = await call(admin, 'POST', '/api/cameras/h1-presiding/test');
    expect(tested.json).toMatchObject({
      state: 'online',
      media: { video: { codec: 'H264', width: 1280, height: 720, fps: 25 }, audio: { codec: 'AAC', sampleRate: 48000, channels: 1 } },
    });
  });

  it('an unreachable camera shows a clear state and never disturbs the others', async () => {
    const created = await call(admin, 'POST', '/api/cameras', { id: 'dead-end', name: '无效摄像机', roomId: 'hearing-1', role: '侧面', rtsp: { mainUrl: 'rtsp://127.0.0.1:9/none' } });
    expect(created.status).toBe(201);
    await stateOf('dead-end', 'unreachable');
    const tested = await call(admin, 'POST', '/api/cameras/dead-end/test');
    expect(tested.json).toMatchObject({ state: 'unreachable', reason: expect.stringContaining('cannot connect') });
    for (const id of DEMO_CAMERAS) expect(states.get(id), id).toBe('online');
    expect((await call(admin, 'DELETE', '/api/cameras/dead-end')).status).toBe(204);
    expect(((await call(admin, 'GET', '/api/cameras')).json as { id: string }[]).map((c) => c.id)).not.toContain('dead-end');
  });

  it('wrong credentials show unauthorized; a corrected password is stored sealed and brings it online', async () => {
    const onvifUrl = ((await call(admin, 'GET', '/api/cameras')).json as any[]).find((c) => c.id === 'i1-subject').source.url;
    const body = { name: '第二路', roomId: null, role: '', onvif: { url: onvifUrl, username: 'admin', password: 'Wrong-password-1' } };
    expect((await call(admin, 'POST', '/api/cameras', { id: 'second-view', ...body })).status).toBe(201);
    await stateOf('second-view', 'unauthorized');
    const fixed = await call(admin, 'PUT', '/api/cameras/second-view', { ...body, onvif: { ...body.onvif, password: SIMULATOR_PASSWORD } });
    expect(fixed.status).toBe(200);
    await stateOf('second-view', 'online');
    // Editing without a password keeps the stored one.
    expect((await call(admin, 'PUT', '/api/cameras/second-view', { ...body, name: '第二路（改）', onvif: { url: onvifUrl, username: 'admin' } })).status).toBe(200);
    expect((await call(admin, 'POST', '/api/cameras/second-view/test')).json.state).toBe('online');
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const stored = db.prepare("SELECT source_json FROM cameras WHERE id = 'second-view'").get() as { source_json: string };
    db.close();
    expect(stored.source_json).toMatch(/"password":"enc:v1:/);
    expect(stored.source_json).not.toContain(SIMULATOR_PASSWORD);
    expect((await call(admin, 'DELETE', '/api/cameras/second-view')).status).toBe(204);
  });

  it('a hung camera turns unreachable within a check and recovers, while the others stay online', async () => {
    const control = await controlUrlOf('h1-party');
    const set = await fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unresponsive: true }) });
    expect(set.status).toBe(200);
    await stateOf('h1-party', 'unreachable');
    for (const id of DEMO_CAMERAS.filter((c) => c !== 'h1-party')) expect(states.get(id), id).toBe('online');
    await fetch(`${control}/clear`, { method: 'POST' });
    await stateOf('h1-party', 'online');
  });

  it('a camera whose password was changed on the device turns unauthorized', async () => {
    const control = await controlUrlOf('i1-wide');
    await fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ wrongPassword: true }) });
    await stateOf('i1-wide', 'unauthorized');
    await fetch(`${control}/clear`, { method: 'POST' });
    await stateOf('i1-wide', 'online');
  });

  it('discovers the simulated cameras by unicast and marks those already added', async () => {
    const cameras = (await call(admin, 'GET', '/api/cameras')).json as { id: string; source: { url: string } }[];
    const address = (id: string) => new URL(cameras.find((c) => c.id === id)!.source.url).hostname;
    const silent = address('i1-subject').replace(/\.\d+$/, '.200');
    const found = await call(admin, 'POST', '/api/cameras/discover', { addresses: [address('h1-wide'), address('i1-wide'), silent], timeoutMs: 1000 });
    expect(found.status).toBe(200);
    expect((found.json as { knownCameraId: string }[]).map((d) => d.knownCameraId).sort()).toEqual(['h1-wide', 'i1-wide']);
    expect((await call(admin, 'POST', '/api/cameras/discover', {})).json.error.code).toBe('addresses_required');
  });

  it('rejects bad input naming the field, and duplicates', async () => {
    const bad = await call(admin, 'POST', '/api/cameras', { id: 'Bad Id', name: 'x', rtsp: { mainUrl: 'http://x' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/id: .*rtsp\.mainUrl: /s);
    const both = await call(admin, 'POST', '/api/cameras', { id: 'two', name: 'x', rtsp: { mainUrl: 'rtsp://127.0.0.1/x' }, onvif: { url: 'http://127.0.0.1/', username: 'a', password: 'b' } });
    expect(both.status).toBe(400);
    const inUrl = await call(admin, 'POST', '/api/cameras', { id: 'cred', name: 'x', rtsp: { mainUrl: 'rtsp://admin:pw@127.0.0.1/x' } });
    expect(inUrl.json.error.message).toContain('credentials');
    expect((await call(admin, 'POST', '/api/cameras', { id: 'h1-wide', name: 'x', rtsp: { mainUrl: 'rtsp://127.0.0.1/x' } })).status).toBe(409);
    expect((await call(admin, 'POST', '/api/cameras', { id: 'lost', name: 'x', roomId: 'no-room', rtsp: { mainUrl: 'rtsp://127.0.0.1/x' } })).json.error.code).toBe('unknown_room');
  });

  it('manages rooms and refuses to remove one that still has cameras', async () => {
    expect((await call(admin, 'POST', '/api/rooms', { id: 'hearing-2', name: '听证室二', kind: 'hearing' })).status).toBe(201);
    expect((await call(admin, 'PATCH', '/api/rooms/hearing-2', { name: '第二听证室' })).status).toBe(204);
    const rooms = (await call(admin, 'GET', '/api/rooms')).json as { id: string; name: string }[];
    expect(rooms.find((r) => r.id === 'hearing-2')?.name).toBe('第二听证室');
    expect((await call(admin, 'DELETE', '/api/rooms/hearing-1')).json.error.code).toBe('room_not_empty');
    expect((await call(admin, 'DELETE', '/api/rooms/hearing-2')).status).toBe(204);
  });

  it('never returns or logs a camera password, and audits every change', async () => {
    for (const body of bodies) {
      expect(body).not.toContain(SIMULATOR_PASSWORD);
      expect(body).not.toContain('Wrong-password-1');
    }
    for (const line of server.output) {
      expect(line).not.toContain(SIMULATOR_PASSWORD);
      expect(line).not.toContain('Wrong-password-1');
    }
    const auditor = new ApiClient(server.url);
    await auditor.login('auditor');
    const actions = ((await auditor.get('/api/audit?limit=500')).json.entries as { action: string; detail: unknown }[]);
    expect(actions.map((e) => e.action)).toEqual(expect.arrayContaining(['camera.created', 'camera.updated', 'camera.removed', 'camera.tested', 'camera.discovery', 'room.created', 'room.updated', 'room.removed']));
    expect(JSON.stringify(actions)).not.toContain('enc:v1:');
  });
});
