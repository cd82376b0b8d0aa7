import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { push } from '../helpers/rtmp-push.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// Portable devices (执法记录仪): the admin registers one, the system ffmpeg pushes a short H.264/AAC
// test clip over RTMP with its key, and the server records it into hashed spool segments and serves
// it live over FLV; a wrong key is refused, audited and records nothing.
let server: TestServer;
let admin: ApiClient;
let auditor: ApiClient;

interface DeviceSegmentLog {
  device: string;
  seq: number;
  file: string;
  bytes: number;
  sha256: string;
  startedAt: string;
  endedAt: string;
}

const segmentLogs = (deviceId: string): DeviceSegmentLog[] =>
  server.output
    .filter((l) => l.startsWith('{') && l.includes('"device segment"'))
    .map((l) => JSON.parse(l) as DeviceSegmentLog)
    .filter((s) => s.device === deviceId);

const auditEntries = async (action: string) =>
  ((await auditor.get('/api/audit?limit=500')).json.entries as { action: string; target: string; detail: Record<string, unknown> }[]).filter((e) => e.action === action);

const register = async (name: string) => {
  const response = await admin.post('/api/devices', { name, officer: '李执法', badgeNumber: '13000101' });
  expect(response.status).toBe(201);
  return response.json as { id: string; pushUrl: string };
};

beforeAll(async () => {
  server = await startTestServer({ demoOverrides: { mediaServer: { rtmpPort: 0 } } });
  admin = new ApiClient(server.url);
  await admin.login('admin');
  auditor = new ApiClient(server.url);
  await auditor.login('auditor');
});

afterAll(async () => {
  await server?.stop();
});

describe('portable devices over RTMP', () => {
  it('registers a device for the admin only, shows its push URL once and never its key again', async () => {
    const device = await register('执法记录仪 A');
    expect(device.id).toMatch(/^dev-[0-9a-f]{10}$/);
    expect(device.pushUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:\\d+/device/${device.id}\\?key=[\\w-]{43}$`));
    const listed = await admin.get('/api/devices');
    expect(listed.status).toBe(200);
    const row = (listed.json as Record<string, unknown>[]).find((d) => d.id === device.id)!;
    expect(row).toMatchObject({ name: '执法记录仪 A', officer: '李执法', badgeNumber: '13000101', disabled: false, live: false });
    expect(JSON.stringify(listed.json)).not.toContain(new URL(device.pushUrl).searchParams.get('key'));
    expect(JSON.stringify(listed.json)).not.toMatch(/key/i);
    expect((await auditEntries('device.registered')).some((e) => e.target === device.id)).toBe(true);

    for (const username of ['supervisor', 'clerk', 'legal', 'security', 'auditor']) {
      const other = new ApiClient(server.url);
      await other.login(username);
      expect((await other.post('/api/devices', { name: 'x', officer: 'y', badgeNumber: '1' })).status, username).toBe(403);
      expect((await other.get('/api/devices')).status, username).toBe(403);
    }
    expect((await admin.post('/api/devices', { name: '', officer: 'y' })).status).toBe(400);
  });

  it('lists enabled devices for a clerk to pick, without keys; legal, admin-only callers and anonymous get none', async () => {
    const device = await register('执法记录仪 F');
    const disabled = await register('执法记录仪 G');
    expect((await admin.post(`/api/devices/${disabled.id}/disable`)).status).toBe(200);
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk');
    const listed = await clerk.get('/api/devices/attachable');
    expect(listed.status).toBe(200);
    const rows = listed.json as Record<string, unknown>[];
    expect(rows.find((d) => d.id === device.id)).toEqual({ id: device.id, name: '执法记录仪 F', officer: '李执法', badgeNumber: '13000101', live: false, inSession: null });
    expect(rows.some((d) => d.id === disabled.id)).toBe(false);
    expect(JSON.stringify(rows)).not.toMatch(/key/i);
    // The admin's routes stay the admin's.
    expect((await clerk.get('/api/devices')).status).toBe(403);
    expect((await clerk.post(`/api/devices/${device.id}/disable`)).status).toBe(403);
    for (const username of ['legal', 'supervisor', 'auditor']) {
      const other = new ApiClient(server.url);
      await other.login(username);
      const refused = await other.get('/api/devices/attachable');
      expect(refused.status, username).toBe(403);
      expect(refused.json.error.code, username).toBe('forbidden');
    }
    const anonymous = await new ApiClient(server.url).get('/api/devices/attachable');
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.message).toBeTruthy();
  });

  it('records a push with the registered key into hashed spool segments and serves it live over FLV', async () => {
    const device = await register('执法记录仪 B');
    const pushing = push(device.pushUrl, 8);
    await waitFor(async () => ((await admin.get('/api/devices')).json as { id: string; live: boolean }[]).some((d) => d.id === device.id && d.live), 10_000, 'device live');

    // Watched live: a supervisor gets a signed FLV URL and reads video through the main port.
    const supervisor = new ApiClient(server.url);
    await supervisor.login('supervisor');
    const issued = await supervisor.get(`/api/live/devices/${device.id}/flv-url`);
    expect(issued.status).toBe(200);
    const response = await fetch(`${server.url}${issued.json.url}`, { headers: { cookie: supervisor.sessionCookie! } });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let bytes = Buffer.alloc(0);
    while (bytes.length < 20_000) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes = Buffer.concat([bytes, Buffer.from(value)]);
    }
    await reader.cancel();
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('FLV');
    expect(bytes.includes(Buffer.from([0x17, 0x01]))).toBe(true); // an AVC keyframe tag body
    const legal = new ApiClient(server.url);
    await legal.login('legal');
    expect((await legal.get(`/api/live/devices/${device.id}/flv-url`)).status).toBe(403);

    expect(await pushing).toBe(0);
    await waitFor(() => segmentLogs(device.id).length >= 3, 15_000, 'device segments');
    await waitFor(async () => (await auditEntries('device.publish_ended')).some((e) => e.target === device.id), 10_000, 'publish end audited');
    const segments = segmentLogs(device.id);
    const dir = join(server.dataDir, 'spool', device.id);
    expect(segments.map((s) => s.seq)).toEqual(segments.map((_, i) => i));
    for (const segment of segments) {
      expect(segment.file).toBe(join(dir, `seg-${String(segment.seq).padStart(10, '0')}.ts`));
      const content = readFileSync(segment.file);
      expect(content.length).toBe(segment.bytes);
      expect(createHash('sha256').update(content).digest('hex')).toBe(segment.sha256);
      expect(content[0]).toBe(0x47);
      expect(Date.parse(segment.endedAt)).toBeGreaterThan(Date.parse(segment.startedAt));
    }
    // About 8 s of media in ~2 s segments, placed in time one after the other.
    const total = segments.reduce((ms, s) => ms + Date.parse(s.endedAt) - Date.parse(s.startedAt), 0);
    expect(total).toBeGreaterThan(6000);
    expect(total).toBeLessThan(10_000);
    for (let i = 1; i < segments.length; i++) expect(Math.abs(Date.parse(segments[i]!.startedAt) - Date.parse(segments[i - 1]!.endedAt))).toBeLessThan(100);
    expect(readdirSync(dir).filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(server.output.join('\n')).not.toContain(new URL(device.pushUrl).searchParams.get('key'));
  }, 60_000);

  it('records a push into a room-less session (便携设备): adopted, hashed and chained, its silence an interruption', async () => {
    const device = await register('执法记录仪 D');
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk');
    const created = await clerk.post('/api/sessions', {
      caseNumber: '秦应急罚〔2026〕21号',
      title: '现场检查（便携设备）',
      procedure: 'on-site-inspection',
      participants: [
        { name: '李执法', role: 'officer', badgeNumber: '13000101' },
        { name: '王执法', role: 'officer', badgeNumber: '13000102' },
      ],
    });
    expect(created.status).toBe(201);
    const sessionId = created.json.id as string;
    const legal = new ApiClient(server.url);
    await legal.login('legal');
    expect((await legal.post(`/api/sessions/${sessionId}/devices`, { deviceId: device.id })).status).toBe(403);
    const attached = await clerk.post(`/api/sessions/${sessionId}/devices`, { deviceId: device.id });
    expect(attached.status).toBe(201);
    expect(attached.json).toEqual({ sessionId, deviceId: device.id, live: false });
    expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);

    // Recorded into one session at a time.
    const other = await clerk.post('/api/sessions', { caseNumber: '秦应急罚〔2026〕21号', title: '复查', procedure: 're-inspection', participants: [] });
    const inUse = await clerk.post(`/api/sessions/${other.json.id}/devices`, { deviceId: device.id });
    expect(inUse.status).toBe(409);
    expect(inUse.json.error.code).toBe('device_in_use');

    expect(await push(device.pushUrl, 6)).toBe(0);
    await waitFor(async () => (await auditEntries('device.publish_ended')).some((e) => e.target === device.id), 10_000, 'publish end audited');
    await waitFor(async () => ((await clerk.get(`/api/sessions/${sessionId}`)).json.interruptions as { cause: string }[]).some((i) => i.cause === 'connection_lost'), 10_000, 'gap after the push');
    expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);

    const rows = (await clerk.get(`/api/sessions/${sessionId}/segments`)).json as { cameraId: string; seq: number; sha256: string; prevSha256: string | null; timeSource: string; durationMs: number; startedAt: string; endedAt: string }[];
    const hashed = new Map(segmentLogs(device.id).map((s) => [s.sha256, s]));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    rows.forEach((row, i) => {
      expect(row.cameraId).toBe(device.id);
      expect(row.timeSource).toBe('arrival');
      expect(hashed.has(row.sha256)).toBe(true); // the hash taken when the segment closed
      expect(row.prevSha256).toBe(i === 0 ? null : rows[i - 1]!.sha256);
    });
    expect(rows.reduce((ms, r) => ms + r.durationMs, 0)).toBeGreaterThan(4000);
    const view = (await clerk.get(`/api/sessions/${sessionId}`)).json as { interruptions: { cameraId: string; cause: string; startedAt: string; endedAt: string | null }[] };
    const gaps = view.interruptions.filter((i) => i.cameraId === device.id);
    // Not publishing at the start (ended by its first segment), then silent from its last segment to the stop.
    expect(gaps.map((i) => i.cause)).toEqual(['camera_unreachable', 'connection_lost']);
    expect(gaps[0]!.endedAt).toBe(rows[0]!.startedAt);
    expect(gaps[1]!.startedAt).toBe(rows.at(-1)!.endedAt);
    expect(gaps[1]!.endedAt).toBe((await clerk.get(`/api/sessions/${sessionId}`)).json.endedAt);
    expect((await clerk.get(`/api/sessions/${sessionId}/devices`)).json.map((d: { id: string }) => d.id)).toEqual([device.id]);
    expect((await auditEntries('session.device_attached')).some((e) => e.target === sessionId && e.detail.deviceId === device.id)).toBe(true);
  }, 60_000);

  it('cuts the push of a device disabled while it publishes', async () => {
    const device = await register('执法记录仪 E');
    const startedAt = Date.now();
    const pushing = push(device.pushUrl, 20);
    await waitFor(async () => ((await admin.get('/api/devices')).json as { id: string; live: boolean }[]).some((d) => d.id === device.id && d.live), 10_000, 'device live');
    expect((await admin.post(`/api/devices/${device.id}/disable`)).status).toBe(200);
    expect(await pushing).not.toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect((await auditEntries('device.disabled')).find((e) => e.target === device.id)?.detail.wasLive).toBe(true);
    await waitFor(async () => (await auditEntries('device.publish_ended')).some((e) => e.target === device.id), 10_000, 'publish end audited');
  }, 40_000);

  it('refuses a wrong key, an unknown device and a disabled one: closed, audited, nothing recorded', async () => {
    const device = await register('执法记录仪 C');
    const wrong = new URL(device.pushUrl);
    wrong.searchParams.set('key', 'not-the-key');
    expect(await push(wrong.toString(), 3)).not.toBe(0);
    const unknown = new URL(device.pushUrl);
    unknown.pathname = '/device/dev-0000000000';
    expect(await push(unknown.toString(), 3)).not.toBe(0);
    const internal = new URL(device.pushUrl);
    internal.pathname = '/live/h1-wide';
    expect(await push(internal.toString(), 3)).not.toBe(0);

    expect((await admin.post(`/api/devices/${device.id}/disable`)).json).toMatchObject({ id: device.id, disabled: true });
    expect(await push(device.pushUrl, 3)).not.toBe(0);

    const refused = await auditEntries('device.publish_refused');
    expect(refused.filter((e) => e.target === `device/${device.id}`).map((e) => e.detail.reason)).toEqual([
      'no enabled device with this id',
      'wrong or missing device key',
    ]);
    expect(refused.some((e) => e.target === 'device/dev-0000000000')).toBe(true);
    expect(refused.some((e) => e.target === 'live/h1-wide')).toBe(true);
    expect(JSON.stringify(refused)).not.toContain('not-the-key');
    expect((await auditEntries('device.disabled')).some((e) => e.target === device.id)).toBe(true);
    expect(segmentLogs(device.id)).toEqual([]);
    expect(segmentLogs('dev-0000000000')).toEqual([]);
    const dir = join(server.dataDir, 'spool', device.id);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect((await auditEntries('device.publish_started')).some((e) => e.target === device.id)).toBe(false);
  }, 60_000);
});

describe('portable devices below the disk floor', () => {
  it('are not recorded while the disk is below its floor (the push is still accepted)', async () => {
    const full = await startTestServer({ demoOverrides: { mediaServer: { rtmpPort: 0 }, recording: { disk: { warningGb: 1e6, refuseGb: 1e6, floorGb: 1e6, checkIntervalS: 1 } } } });
    try {
      await waitFor(() => full.output.some((l) => l.includes('disk below the floor')), 10_000, 'disk floor noticed');
      const fullAdmin = new ApiClient(full.url);
      await fullAdmin.login('admin');
      const device = (await fullAdmin.post('/api/devices', { name: '执法记录仪 F', officer: '李执法', badgeNumber: '13000101' })).json as { id: string; pushUrl: string };
      expect(await push(device.pushUrl, 4)).toBe(0);
      expect(full.output.some((l) => l.includes('not recorded until space is freed') && l.includes(device.id))).toBe(true);
      expect(full.output.some((l) => l.includes('"device segment"'))).toBe(false);
      const dir = join(full.dataDir, 'spool', device.id);
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      await full.stop();
    }
  }, 40_000);
});

describe('portable devices with RTMP on another address', () => {
  it('push URLs name mediaServer.rtmpHost, devices push there, and the server still reads them over 127.0.0.1', async () => {
    // 127.0.0.2 stands in for a LAN address: tests and the demo stay on loopback.
    const lan = await startTestServer({ demoOverrides: { mediaServer: { rtmpPort: 0, rtmpHost: '127.0.0.2' } } });
    try {
      // RTMP on the configured address and on 127.0.0.1 for the server's own readers; HTTP-FLV on 127.0.0.1 only.
      const { rtmpPort, httpPort } = JSON.parse(lan.output.find((l) => l.includes('media server listening on 127.0.0.2'))!) as { rtmpPort: number; httpPort: number };
      const listening = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === '0A').map((f) => f[1]!);
      const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
      const on = (port: number) => listening.filter((a) => a.endsWith(`:${hex(port)}`)).sort();
      expect(on(rtmpPort)).toEqual([`0100007F:${hex(rtmpPort)}`, `0200007F:${hex(rtmpPort)}`]);
      expect(on(httpPort)).toEqual([`0100007F:${hex(httpPort)}`]);
      const lanAdmin = new ApiClient(lan.url);
      await lanAdmin.login('admin');
      const registered = await lanAdmin.post('/api/devices', { name: '执法记录仪 L', officer: '李执法', badgeNumber: '13000101' });
      expect(registered.status).toBe(201);
      const device = registered.json as { id: string; pushUrl: string };
      expect(device.pushUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.2:\\d+/device/${device.id}\\?key=[\\w-]{43}$`));
      expect(await push(device.pushUrl, 5)).toBe(0);
      const segments = () => lan.output.filter((l) => l.includes('"device segment"') && l.includes(device.id));
      await waitFor(() => segments().length >= 2, 15_000, 'device segments read over loopback');
    } finally {
      await lan.stop();
    }
  }, 60_000);
});
