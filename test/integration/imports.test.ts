import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

const CHUNK = 64 * 1024;
const MAX_BYTES = 3_000_000;

let server: TestServer;
let legal: ApiClient;
let clerk: ApiClient;
let auditor: ApiClient;
let fixtures: string;
let caseId: string;
let deviceId: string;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const HOUR = 3_600_000;
/** A recording time well in the past, to the millisecond (as ffmpeg writes it back). */
const RECORDED = new Date(Math.floor((Date.now() - 3 * HOUR) / 1000) * 1000);

/** A 4 s H.264 + AAC MP4 with the given creation_time; `faststart` puts its index first. */
function makeMp4(name: string, creationTime: Date, faststart = false): Buffer {
  const file = join(fixtures, name);
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=f=440', '-t', '4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-metadata', `creation_time=${creationTime.toISOString()}`,
    ...(faststart ? ['-movflags', '+faststart'] : []), file,
  ]);
  return readFileSync(file);
}

const putChunk = (client: ApiClient, id: string, index: number | string, body: Buffer, type = 'application/octet-stream') =>
  fetch(`${server.url}/api/imports/${id}/chunks/${index}`, { method: 'PUT', headers: { cookie: client.sessionCookie!, 'content-type': type }, body: new Uint8Array(body) });

const chunksOf = (data: Buffer) => Array.from({ length: Math.ceil(data.length / CHUNK) }, (_, i) => data.subarray(i * CHUNK, (i + 1) * CHUNK));

async function begin(data: Buffer, extra: Record<string, unknown> = {}) {
  const created = await legal.post(`/api/cases/${caseId}/imports`, { fileName: 'DSC_0001.MP4', bytes: data.length, deviceId, item: 11, ...extra });
  expect(created.status, created.text).toBe(201);
  return created.json as { id: string; chunkBytes: number; chunkCount: number };
}

/** Uploads a whole file and completes it; returns the completion's answer. */
async function upload(data: Buffer, extra: Record<string, unknown> = {}) {
  const { id } = await begin(data, extra);
  for (const [index, chunk] of chunksOf(data).entries()) expect((await putChunk(legal, id, index, chunk)).status).toBe(200);
  return { id, done: await legal.post(`/api/imports/${id}/complete`) };
}

const storedFiles = () => {
  const root = join(server.dataDir, 'imports');
  return existsSync(root) ? readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)) : [];
};
const stagingOf = (id: string) => join(server.dataDir, 'import-staging', id);
const auditOf = async (target: string) => ((await auditor.get('/api/audit?limit=500')).json.entries as { action: string; target: string; detail: Record<string, unknown> }[]).filter((e) => e.target === target);

beforeAll(async () => {
  fixtures = mkdtempSync(join(tmpdir(), 'hr-imports-'));
  server = await startTestServer({ demoOverrides: { imports: { maxBytes: MAX_BYTES, chunkBytes: CHUNK, stagingTtlS: 3600 } } });
  [legal, clerk, auditor] = ['legal', 'clerk', 'auditor'].map(() => new ApiClient(server.url)) as [ApiClient, ApiClient, ApiClient];
  const admin = new ApiClient(server.url);
  await Promise.all([legal.login('legal'), clerk.login('clerk'), auditor.login('auditor'), admin.login('admin')]);
  const device = await admin.post('/api/devices', { name: '执法记录仪 07', officer: '王执法', badgeNumber: '13000107' });
  expect(device.status, device.text).toBe(201);
  deviceId = device.json.id;
  caseId = (await legal.post('/api/cases', { caseNumber: '应急罚〔2026〕70号', title: '现场检查执法记录仪视频', parties: ['某公司'] })).json.id;
});

afterAll(async () => {
  await server?.stop();
  rmSync(fixtures, { recursive: true, force: true });
});

describe('body-camera imports', () => {
  it('store a good MP4 resumably: hashed, write-once, probed, audited and placed on the case timeline', async () => {
    const data = makeMp4('good.mp4', RECORDED);
    const { id, chunkBytes, chunkCount } = await begin(data, { recordedAt: RECORDED.toISOString(), note: '检查现场' });
    expect(chunkBytes).toBe(CHUNK);
    expect(chunkCount).toBe(Math.ceil(data.length / CHUNK));
    const chunks = chunksOf(data);
    // Chunk 1 first, then again (a resend after a dropped connection), then the rest.
    expect((await putChunk(legal, id, 1, chunks[1]!)).status).toBe(200);
    expect((await putChunk(legal, id, 1, chunks[1]!)).status).toBe(200);
    const partial = (await legal.get(`/api/imports/${id}`)).json;
    expect(partial).toMatchObject({ state: 'uploading', receivedChunks: [1], receivedBytes: CHUNK, sha256: null });
    for (const [index, chunk] of chunks.entries()) if (index !== 1) expect((await putChunk(legal, id, index, chunk)).status).toBe(200);
    const done = await legal.post(`/api/imports/${id}/complete`);
    expect(done.status, done.text).toBe(200);
    expect(done.json).toMatchObject({
      id, caseId, deviceId, item: 11, fileName: 'DSC_0001.MP4', note: '检查现场', state: 'stored', bytes: data.length,
      sha256: sha256(data), damaged: false, damage: null,
      probe: { format: expect.stringContaining('mp4'), durationS: expect.closeTo(4, 1), video: { codec: 'h264', width: 320, height: 240 }, audio: true },
      timeZone: { creationTime: RECORDED.toISOString(), suspect: false, interpretation: null, recordedStart: RECORDED.toISOString() },
    });
    const [file] = storedFiles().filter((f) => f.includes(id));
    expect(file).toMatch(new RegExp(`/imports/\\d{4}-\\d{2}-\\d{2}/${caseId}/${id}\\.mp4$`));
    expect(sha256(readFileSync(file!))).toBe(sha256(data));
    expect(statSync(file!).mode & 0o777).toBe(0o444);
    expect(existsSync(stagingOf(id))).toBe(false);
    const audit = await auditOf(id);
    expect(audit.map((e) => e.action).sort()).toEqual(['import.started', 'import.stored']);
    expect(audit.find((e) => e.action === 'import.stored')!.detail).toMatchObject({ sha256: sha256(data), damaged: false, caseId });
    const timeline = (await legal.get(`/api/cases/${caseId}/imports`)).json as { id: string }[];
    expect(timeline.map((i) => i.id)).toContain(id);
    // Closed: no more chunks, no second completion.
    expect((await putChunk(legal, id, 0, chunks[0]!)).status).toBe(409);
    expect((await legal.post(`/api/imports/${id}/complete`)).json.error.code).toBe('import_closed');
  });

  it('refuse a text file named .mp4 with 415 and keep nothing of it', async () => {
    const before = storedFiles();
    const { id, done } = await upload(Buffer.from('这不是视频。\n'.repeat(20_000)));
    expect(done.status).toBe(415);
    expect(done.json.error).toMatchObject({ code: 'not_video', message: expect.any(String) });
    expect(done.text).not.toMatch(/at .*\.ts:/);
    expect(storedFiles()).toEqual(before);
    expect(existsSync(stagingOf(id))).toBe(false);
    expect((await legal.get(`/api/imports/${id}`)).json).toMatchObject({ state: 'refused', refusedReason: 'not_video', sha256: null });
    expect((await auditOf(id)).map((e) => e.action)).toContain('import.refused');
  });

  it('refuse an interrupted transfer naming the missing chunk and remove its staging', async () => {
    const data = makeMp4('interrupted.mp4', RECORDED);
    const { id } = await begin(data);
    for (const [index, chunk] of chunksOf(data).entries()) if (index !== 2) expect((await putChunk(legal, id, index, chunk)).status).toBe(200);
    expect(existsSync(stagingOf(id))).toBe(true);
    const before = storedFiles();
    const done = await legal.post(`/api/imports/${id}/complete`);
    expect(done.status).toBe(409);
    expect(done.json.error.code).toBe('import_incomplete');
    expect(done.json.error.message).toMatch(/chunk\(s\) 2 of/);
    expect(existsSync(stagingOf(id))).toBe(false);
    expect(storedFiles()).toEqual(before);
    expect((await legal.get(`/api/imports/${id}`)).json).toMatchObject({ state: 'refused', refusedReason: 'incomplete' });
    expect((await putChunk(legal, id, 2, chunksOf(data)[2]!)).status).toBe(409);
  });

  it('keep a complete but truncated MP4, hashed and flagged damaged (index lost, or video cut short)', async () => {
    const whole = makeMp4('whole.mp4', RECORDED);
    const noIndex = whole.subarray(0, Math.floor(whole.length / 2));
    const first = await upload(noIndex);
    expect(first.done.status, first.done.text).toBe(200);
    expect(first.done.json).toMatchObject({ state: 'stored', damaged: true, sha256: sha256(noIndex), damage: expect.stringContaining('unreadable mp4') });
    const fast = makeMp4('faststart.mp4', RECORDED, true);
    const cut = fast.subarray(0, Math.floor(fast.length / 2));
    const second = await upload(cut);
    expect(second.done.status, second.done.text).toBe(200);
    expect(second.done.json).toMatchObject({ state: 'stored', damaged: true, sha256: sha256(cut), probe: { video: { codec: 'h264' } } });
    for (const { id, data } of [{ id: first.id, data: noIndex }, { id: second.id, data: cut }]) {
      const [file] = storedFiles().filter((f) => f.includes(id));
      expect(sha256(readFileSync(file!))).toBe(sha256(data));
    }
  });

  it('flag a creation time 8 hours off the stated time and let legal staff confirm the reading', async () => {
    const localAsUtc = new Date(RECORDED.getTime() + 8 * HOUR);
    const { id, done } = await upload(makeMp4('eight-hours.mp4', localAsUtc), { recordedAt: RECORDED.toISOString() });
    expect(done.status, done.text).toBe(200);
    expect(done.json.timeZone).toMatchObject({ creationTime: localAsUtc.toISOString(), suspect: true, reason: expect.stringContaining('8 hours'), recordedStart: null });
    expect((await clerk.post(`/api/imports/${id}/time-zone`, { interpretation: 'local-as-utc' })).status).toBe(403);
    expect((await legal.post(`/api/imports/${id}/time-zone`, { interpretation: 'UTC+8' })).status).toBe(400);
    const confirmed = await legal.post(`/api/imports/${id}/time-zone`, { interpretation: 'local-as-utc' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.json.timeZone).toMatchObject({ interpretation: 'local-as-utc', confirmedBy: 'legal', recordedStart: RECORDED.toISOString(), creationTime: localAsUtc.toISOString() });
    expect(confirmed.json.sha256).toBe(done.json.sha256);
    expect((await auditOf(id)).find((e) => e.action === 'import.time_zone_confirmed')!.detail).toMatchObject({ interpretation: 'local-as-utc' });
    // Without a stated time, a file time after the upload is suspect too.
    const future = await upload(makeMp4('future.mp4', new Date(Date.now() + 7 * HOUR)));
    expect(future.done.json.timeZone).toMatchObject({ suspect: true, reason: expect.stringContaining('after the upload') });
    const timeline = (await legal.get(`/api/cases/${caseId}/imports`)).json as { id: string; timeZone: { recordedStart: string | null } }[];
    expect(timeline.at(-1)!.timeZone.recordedStart).toBeNull();
    expect(timeline.find((i) => i.id === id)!.timeZone.recordedStart).toBe(RECORDED.toISOString());
  });

  it('are legal staff only, and no route deletes one', async () => {
    const { id, done } = await upload(makeMp4('keep.mp4', RECORDED));
    expect(done.status).toBe(200);
    expect((await clerk.post(`/api/cases/${caseId}/imports`, { fileName: 'a.mp4', bytes: 10, deviceId, item: 11 })).status).toBe(403);
    expect((await clerk.get(`/api/cases/${caseId}/imports`)).status).toBe(403);
    expect((await clerk.get(`/api/imports/${id}`)).status).toBe(403);
    expect((await putChunk(clerk, id, 0, Buffer.alloc(10))).status).toBe(403);
    expect((await clerk.request('DELETE', `/api/imports/${id}`)).status).toBe(403);
    expect((await legal.request('DELETE', `/api/imports/${id}`)).status).toBe(404);
    expect((await legal.get(`/api/imports/${id}`)).json).toMatchObject({ state: 'stored', sha256: done.json.sha256 });
    expect(storedFiles().some((f) => f.includes(id))).toBe(true);
  });

  it('refuse path traversal, bad sizes and unknown references with a clear 4xx', async () => {
    const create = (body: Record<string, unknown>) => legal.post(`/api/cases/${caseId}/imports`, { fileName: 'a.mp4', bytes: 1000, deviceId, item: 11, ...body });
    for (const fileName of ['../../etc/passwd', 'a/b.mp4', '..\\..\\boot.ini', '..', 'a\u0000.mp4']) {
      const answer = await create({ fileName });
      expect(answer.status, fileName).toBe(400);
      expect(answer.json.error.code).toBe('invalid_request');
    }
    for (const path of ['/api/imports/..%2F..%2Fhearing-recorder.db', '/api/imports/imp-0000000000000000', '/api/imports/%2e%2e']) {
      expect((await legal.get(path)).status, path).toBe(404);
    }
    expect((await legal.post('/api/imports/..%2Fx/complete')).status).toBe(404);
    expect((await putChunk(legal, '..%2F..%2Fx', 0, Buffer.alloc(10))).status).toBe(404);
    const tooBig = await create({ bytes: MAX_BYTES + 1 });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('import_too_large');
    expect((await create({ deviceId: 'dev-0000000000' })).json.error.code).toBe('unknown_device');
    expect((await create({ item: 99 })).json.error.code).toBe('unknown_item');
    expect((await legal.post('/api/cases/no-such-case/imports', { fileName: 'a.mp4', bytes: 10, deviceId, item: 11 })).status).toBe(404);
    const { id } = await begin(Buffer.alloc(CHUNK + 10));
    expect(((await (await putChunk(legal, id, 0, Buffer.alloc(100))).json()) as { error: { code: string } }).error.code).toBe('chunk_size');
    expect((await putChunk(legal, id, 2, Buffer.alloc(10))).status).toBe(400);
    expect((await putChunk(legal, id, 'x', Buffer.alloc(10))).status).toBe(400);
    expect((await putChunk(legal, id, 0, Buffer.alloc(CHUNK + 1))).status).toBe(413);
    expect((await putChunk(legal, id, 1, Buffer.alloc(10), 'text/plain')).status).toBe(415);
    expect((await legal.get(`/api/imports/${id}`)).json).toMatchObject({ state: 'uploading', receivedChunks: [] });
  });
});
