import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, InterruptionEvent, ServerToClientEvents } from '../../server/src/realtime/events.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { pause, waitFor } from '../helpers/wait.ts';

interface Gap { id: number; cameraId: string | null; cause: string; startedAt: string; endedAt: string | null; explanation: string | null }

let server: TestServer;
let clerk: ApiClient;
let admin: ApiClient;
let sessionId: string;
let supervisorSocket: Socket<ServerToClientEvents, ClientToServerEvents>;
const alarms: InterruptionEvent[] = [];
const session = async () => (await clerk.get(`/api/sessions/${sessionId}`)).json as { state: string; interruptions: Gap[] };
const segments = async () => (await clerk.get(`/api/sessions/${sessionId}/segments`)).json as { cameraId: string; startedAt: string; endedAt: string }[];

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
  admin = new ApiClient(server.url);
  await admin.login('admin');
  await waitFor(async () => ((await admin.get('/api/cameras')).json as { state: string }[]).every((c) => c.state === 'online'), 20_000);
  clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const created = await clerk.post('/api/sessions', { caseNumber: 'GAP-1', title: '中断测试', procedure: 'interview', roomId: 'interview-1', participants: [{ name: '询问人', role: 'investigator', badgeNumber: '7' }] });
  sessionId = created.json.id;
  expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
  await waitFor(async () => (await segments()).length >= 4, 20_000);
  const supervisor = new ApiClient(server.url);
  await supervisor.login('supervisor');
  supervisorSocket = connect(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: supervisor.sessionCookie! } });
  supervisorSocket.on('recording:interruption', (event) => alarms.push(event));
  await new Promise<void>((resolve) => supervisorSocket.once('server:hello', () => resolve()));
}, 90_000);

afterAll(async () => {
  supervisorSocket?.close();
  await server?.stop();
});

describe('a camera that drops out while a session records', () => {
  it('gives exactly one interruption of about the outage, on that camera only, and recording continues', async () => {
    const cameras = (await admin.get('/api/cameras')).json as { id: string; source: { url: string } }[];
    const control = `http://${new URL(cameras.find((c) => c.id === 'i1-wide')!.source.url).host}/simulator/faults`;
    const json = { 'content-type': 'application/json' };
    await fetch(control, { method: 'POST', headers: json, body: JSON.stringify({ unresponsive: true }) });
    await fetch(`${control}/drop`, { method: 'POST' });
    const outageStarted = Date.now();
    await pause(5000);
    await fetch(`${control}/clear`, { method: 'POST' });
    await waitFor(async () => (await session()).interruptions.some((i) => i.cameraId === 'i1-wide' && i.endedAt !== null), 20_000);
    const gaps = (await session()).interruptions.filter((i) => i.cause !== 'recess');
    expect(gaps).toHaveLength(1);
    const [gap] = gaps;
    expect(gap!.cameraId).toBe('i1-wide');
    expect(['connection_lost', 'stalled']).toContain(gap!.cause);
    const length = Date.parse(gap!.endedAt!) - Date.parse(gap!.startedAt);
    expect(length).toBeGreaterThan(3500);
    expect(length).toBeLessThan(9000);
    expect(Math.abs(Date.parse(gap!.startedAt) - outageStarted)).toBeLessThan(2500);
    await waitFor(async () => (await segments()).some((s) => s.cameraId === 'i1-wide' && Date.parse(s.startedAt) >= Date.parse(gap!.endedAt!)), 10_000);
    // The supervisor's wall heard the gap open while it lasted, then close.
    expect(alarms.map((a) => [a.sessionId, a.roomId, a.cameraId, a.endedAt === null])).toEqual([
      [sessionId, 'interview-1', 'i1-wide', true],
      [sessionId, 'interview-1', 'i1-wide', false],
    ]);
    expect(alarms[1]!.endedAt).toBe(gap!.endedAt);
  }, 60_000);

  it('cannot be sealed until the interruption is explained', async () => {
    expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
    const refused = await clerk.post(`/api/sessions/${sessionId}/seal`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('unexplained_interruptions');
    const gap = (await session()).interruptions.find((i) => i.cameraId === 'i1-wide')!;
    expect((await clerk.post(`/api/sessions/${sessionId}/interruptions/${gap.id}/explanation`, { text: '摄像机网线松动，已重新插好' })).status).toBe(200);
    const sealed = await clerk.post(`/api/sessions/${sessionId}/seal`);
    expect(sealed.status, sealed.text).toBe(200);
  }, 30_000);
});
