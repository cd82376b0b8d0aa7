import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

// Records and seals an interview (retention class shortened to 0 days for the test) and a penalty
// hearing (permanent) on the simulator, then restarts the server on the same data directory with
// other retention classes: a class too long, and 0 days for the two-person destruction procedure.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 240_000 });

const INTERVIEW_DAYS_0 = { retention: { classes: { interview: { days: 0 } } }, evidence: { scrubIntervalS: 0 } };
let dataDir: string;
let server: TestServer | undefined;
let interviewId: string;
let hearingId: string;
let interviewCaseId: string;

let clientIds = 0;
const clientId = () => `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`;

/** Starts a session, records until every camera closed `segments` segments after marking `item`, stops and seals it. */
async function recordAndSeal(clerk: ApiClient, input: { caseNumber: string; procedure: string; roomId: string; item: number; cameras: number }): Promise<string> {
  const created = await clerk.post('/api/sessions', {
    caseNumber: input.caseNumber,
    title: `保存期限测试 ${input.procedure}`,
    procedure: input.procedure,
    roomId: input.roomId,
    participants: [
      { name: '李调查', role: 'investigator', badgeNumber: '13000001' },
      { name: '王调查', role: 'investigator', badgeNumber: '13000002' },
      { name: '赵当事', role: 'party' },
    ],
  });
  expect(created.status, created.text).toBe(201);
  const id = created.json.id as string;
  const segments = async () => ((await clerk.get(`/api/sessions/${id}/segments`)).json as { cameraId: string }[]);
  const everyCamera = async (n: number) => {
    const list = await segments();
    const perCamera = new Map<string, number>();
    for (const s of list) perCamera.set(s.cameraId, (perCamera.get(s.cameraId) ?? 0) + 1);
    return perCamera.size === input.cameras && [...perCamera.values()].every((c) => c >= n);
  };
  expect((await clerk.post(`/api/sessions/${id}/start`)).status).toBe(200);
  await waitFor(() => everyCamera(1), 30_000, 'first segments');
  expect((await clerk.post(`/api/sessions/${id}/marks`, { item: input.item, clientId: clientId(), clientTime: new Date().toISOString() })).status).toBe(201);
  await waitFor(() => everyCamera(3), 30_000, 'segments after the mark');
  expect((await clerk.post(`/api/sessions/${id}/stop`)).status).toBe(200);
  // A loaded machine can stall a camera: the clerk explains every gap before sealing, as in real use.
  for (let i = 0; i < 20; i++) {
    const open = ((await clerk.get(`/api/sessions/${id}`)).json.interruptions as { id: string; explanation: string | null }[]).filter((x) => x.explanation === null);
    if (open.length === 0) break;
    for (const x of open) await clerk.post(`/api/sessions/${id}/interruptions/${x.id}/explanation`, { text: '测试机负载过高，画面中断' });
  }
  const sealed = await clerk.post(`/api/sessions/${id}/seal`);
  expect(sealed.status, sealed.text).toBe(200);
  return id;
}

async function login(username: string): Promise<ApiClient> {
  const client = new ApiClient(server!.url);
  await client.login(username);
  return client;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hr-retention-'));
  server = await startTestServer({ dataDir, simulator: true, demoOverrides: { ...INTERVIEW_DAYS_0, recording: { preRollS: 0, segmentSeconds: 1 } } });
  const [clerk, admin] = await Promise.all([login('clerk'), login('admin')]);
  await waitFor(async () => ((await admin.get('/api/cameras')).json as { state: string }[]).every((c) => c.state === 'online'), 60_000, 'cameras online');
  // Two rooms record side by side.
  [interviewId, hearingId] = await Promise.all([
    recordAndSeal(clerk, { caseNumber: '秦应急罚〔2026〕71号', procedure: 'interview', roomId: 'interview-1', item: 16, cameras: 2 }),
    recordAndSeal(clerk, { caseNumber: '秦应急罚〔2026〕72号', procedure: 'penalty-hearing', roomId: 'hearing-1', item: 18, cameras: 3 }),
  ]);
  interviewCaseId = (await clerk.get(`/api/sessions/${interviewId}`)).json.caseId as string;
  await server.stop();
  server = undefined;
});

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('retention classes in the configuration', () => {
  it('refuses a class for an unknown procedure and a shortened hearing, naming the key', async () => {
    const bad = async (classes: object) => {
      const dir = mkdtempSync(join(tmpdir(), 'hr-retention-bad-'));
      try {
        return await startTestServer({ dataDir: dir, demoOverrides: { retention: { classes } } }).then(
          async (s) => {
            await s.stop();
            return 'started';
          },
          (err: Error) => err.message,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    expect(await bad({ 'no-such-procedure': { years: 5 } })).toMatch(/exited with 2[\s\S]*retention\.classes\.no-such-procedure: unknown procedure "no-such-procedure"/);
    expect(await bad({ 'penalty-hearing': { days: 0 } })).toMatch(/exited with 2[\s\S]*retention\.classes\.penalty-hearing: hearings are kept permanently/);
  });

  it('a sealed session within its retention class is neither listed nor destroyable', async () => {
    server = await startTestServer({ dataDir, demoOverrides: { retention: { classes: { interview: { years: 10 } } } } });
    const legal = await login('legal');
    expect((await legal.get('/api/retention/candidates')).json).toEqual([]);
    const refused = await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '保存期满' });
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('within_retention');
    expect(refused.json.error.message).toMatch(/within its retention period until 203\d-\d{2}-\d{2} \(Beijing time\)/);
    await server.stop();
    server = undefined;
  });
});

describe('legal hold and the two-person destruction procedure', () => {
  let legal: ApiClient;
  let supervisor: ApiClient;
  let requestId: string;
  let segmentFiles: { file: string; sha256: string; bytes: number }[];
  let exportId: string;

  beforeAll(async () => {
    server = await startTestServer({ dataDir, demoOverrides: INTERVIEW_DAYS_0 });
    [legal, supervisor] = await Promise.all([login('legal'), login('supervisor')]);
    const db = new Database(join(dataDir, 'hearing-recorder.db'), { readonly: true, fileMustExist: true });
    try {
      segmentFiles = db.prepare<[string], { file: string; sha256: string; bytes: number }>('SELECT file, sha256, bytes FROM segments WHERE session_id = ? ORDER BY camera_id, seq').all(interviewId);
    } finally {
      db.close();
    }
    expect(segmentFiles.length).toBeGreaterThanOrEqual(6);
  });

  it('lists the sealed interview past retention, never the permanent hearing; refuses hearings and unsealed sessions', async () => {
    const candidates = (await legal.get('/api/retention/candidates')).json as any[];
    expect(candidates.map((c) => c.sessionId)).toEqual([interviewId]);
    expect(candidates[0]).toMatchObject({ procedure: 'interview', caseNumber: '秦应急罚〔2026〕71号', retention: { days: 0 }, pendingRequestId: null });
    expect(candidates[0].retainedUntil).toBe(candidates[0].endedAt);
    expect((await supervisor.get('/api/retention/candidates')).json).toEqual(candidates);

    const permanent = await legal.post(`/api/sessions/${hearingId}/destruction-requests`, { reason: '保存期满' });
    expect(permanent.status).toBe(409);
    expect(permanent.json.error).toMatchObject({ code: 'retention_permanent', message: expect.stringContaining('kept permanently') });

    const clerk = await login('clerk');
    const created = await clerk.post('/api/sessions', { caseNumber: '秦应急罚〔2026〕73号', title: '未封存', procedure: 'interview', roomId: 'interview-1', participants: [] });
    expect(created.status, created.text).toBe(201);
    const unsealed = await legal.post(`/api/sessions/${created.json.id}/destruction-requests`, { reason: '保存期满' });
    expect(unsealed.status).toBe(409);
    expect(unsealed.json.error.code).toBe('not_sealed');

    const noReason = await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: ' ' });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.code).toBe('invalid_request');
  });

  it('no route lets a clerk, an admin or an anonymous caller do any of it; supervisors decide but do not request or hold', async () => {
    const [clerk, admin] = await Promise.all([login('clerk'), login('admin')]);
    const anonymous = new ApiClient(server!.url);
    const routes: [string, string, object?][] = [
      ['GET', '/api/retention/candidates'],
      ['POST', `/api/cases/${interviewCaseId}/legal-hold`, { reason: 'x' }],
      ['POST', `/api/cases/${interviewCaseId}/legal-hold/release`, { reason: 'x' }],
      ['POST', `/api/sessions/${interviewId}/destruction-requests`, { reason: 'x' }],
      ['GET', '/api/destruction-requests'],
      ['GET', `/api/sessions/${interviewId}/destruction-record`],
      ['POST', '/api/destruction-requests/00000000-0000-4000-8000-000000000000/approve', {}],
      ['POST', '/api/destruction-requests/00000000-0000-4000-8000-000000000000/reject', { reason: 'x' }],
    ];
    for (const [method, path, body] of routes) {
      expect((await clerk.request(method, path, body)).status, `clerk ${method} ${path}`).toBe(403);
      expect((await admin.request(method, path, body)).status, `admin ${method} ${path}`).toBe(403);
      expect((await anonymous.request(method, path, body)).status, `anonymous ${method} ${path}`).toBe(401);
    }
    for (const [method, path, body] of routes.slice(1, 4)) {
      const answer = await supervisor.request(method, path, body);
      expect(answer.status, `supervisor ${method} ${path}`).toBe(403);
      expect(answer.json.error.code).toBe('forbidden');
    }
    expect((await legal.get('/api/destruction-requests')).json).toEqual([]);
  });

  it('a legal hold, visible in the case API, keeps the case out of the list and blocks a request', async () => {
    expect((await legal.get(`/api/cases/${interviewCaseId}`)).json.legalHold).toBeNull();
    const placed = await legal.post(`/api/cases/${interviewCaseId}/legal-hold`, { reason: '行政复议期间' });
    expect(placed.status, placed.text).toBe(201);
    expect(placed.json).toMatchObject({ caseId: interviewCaseId, reason: '行政复议期间', placedBy: 'legal', releasedAt: null });
    expect(placed.json.placedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await supervisor.get(`/api/cases/${interviewCaseId}`)).json.legalHold).toMatchObject({ reason: '行政复议期间', placedBy: 'legal' });
    expect((await legal.post(`/api/cases/${interviewCaseId}/legal-hold`, { reason: '再次' })).json.error.code).toBe('hold_active');

    expect((await legal.get('/api/retention/candidates')).json).toEqual([]);
    const blocked = await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '保存期满' });
    expect(blocked.status).toBe(409);
    expect(blocked.json.error).toMatchObject({ code: 'legal_hold', message: expect.stringContaining('行政复议期间') });

    const released = await legal.post(`/api/cases/${interviewCaseId}/legal-hold/release`, { reason: '复议结束' });
    expect(released.status, released.text).toBe(200);
    expect(released.json).toMatchObject({ releasedBy: 'legal', releaseReason: '复议结束' });
    expect((await legal.get(`/api/cases/${interviewCaseId}`)).json.legalHold).toBeNull();
    expect((await legal.post(`/api/cases/${interviewCaseId}/legal-hold/release`, { reason: '再次' })).json.error.code).toBe('no_hold');
  });

  it('a rejected request is closed for good; the requester cannot approve; a hold placed in between blocks approval', async () => {
    const first = await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '保存期满，申请销毁' });
    expect(first.status, first.text).toBe(201);
    const rejected = await supervisor.post(`/api/destruction-requests/${first.json.id}/reject`, { reason: '尚需核对' });
    expect(rejected.json).toMatchObject({ state: 'rejected', decidedBy: 'supervisor', decisionReason: '尚需核对' });
    expect((await supervisor.post(`/api/destruction-requests/${first.json.id}/approve`)).json.error.code).toBe('request_decided');

    const requested = await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '保存期满，申请销毁' });
    expect(requested.status, requested.text).toBe(201);
    requestId = requested.json.id;
    expect(requested.json).toMatchObject({ sessionId: interviewId, state: 'pending', requestedBy: 'legal' });
    expect((await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '重复' })).json.error.code).toBe('request_pending');
    expect((await legal.get('/api/retention/candidates')).json[0].pendingRequestId).toBe(requestId);
    expect(((await supervisor.get('/api/destruction-requests?state=pending')).json as any[]).map((r) => r.id)).toEqual([requestId]);

    const self = await legal.post(`/api/destruction-requests/${requestId}/approve`);
    expect(self.status).toBe(403);
    expect(self.json.error).toMatchObject({ code: 'same_person', message: expect.stringContaining('a second person') });

    expect((await legal.post(`/api/cases/${interviewCaseId}/legal-hold`, { reason: '新的诉讼' })).status).toBe(201);
    const held = await supervisor.post(`/api/destruction-requests/${requestId}/approve`);
    expect(held.status).toBe(409);
    expect(held.json.error.code).toBe('legal_hold');
    for (const s of segmentFiles) expect(existsSync(join(dataDir, s.file)), s.file).toBe(true);
    expect((await legal.post(`/api/cases/${interviewCaseId}/legal-hold/release`, { reason: '诉讼撤回' })).status).toBe(200);
  });

  it("the second person's approval removes the media and export packages, keeps the manifest, signature, segment rows and a destruction record", async () => {
    // An export package kept on the server holds copies of the media: it goes with them.
    const requestedExport = await legal.post(`/api/sessions/${interviewId}/exports`, {});
    expect(requestedExport.status, requestedExport.text).toBe(202);
    exportId = requestedExport.json.id;
    await waitFor(async () => (await legal.get(`/api/exports/${exportId}`)).json.state === 'ready', 60_000, 'export ready');
    const exportFile = join(dataDir, 'exports', `${exportId}.zip`);
    expect(existsSync(exportFile)).toBe(true);

    const manifestFile = segmentFiles[0]!.file.split('/').slice(0, -2).join('/') + '/manifest.json';
    const manifestBefore = readFileSync(join(dataDir, manifestFile));
    const rowsBefore = (await legal.get(`/api/sessions/${interviewId}/segments`)).json;

    const approved = await supervisor.post(`/api/destruction-requests/${requestId}/approve`);
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json.request).toMatchObject({ id: requestId, state: 'approved', decidedBy: 'supervisor' });

    for (const s of segmentFiles) expect(existsSync(join(dataDir, s.file)), s.file).toBe(false);
    expect(existsSync(exportFile)).toBe(false);
    const sessionDirectory = join(dataDir, manifestFile, '..');
    expect(readFileSync(join(sessionDirectory, 'manifest.json')).equals(manifestBefore)).toBe(true);
    expect(existsSync(join(sessionDirectory, 'manifest.sig'))).toBe(true);
    expect(existsSync(join(sessionDirectory, 'public-key.pem'))).toBe(true);
    expect((await legal.get(`/api/sessions/${interviewId}/segments`)).json).toEqual(rowsBefore);
    expect((await legal.get(`/api/sessions/${interviewId}`)).json.marks.map((m: any) => m.item)).toContain(16);

    const record = (await supervisor.get(`/api/sessions/${interviewId}/destruction-record`)).json;
    expect(record).toMatchObject({ sessionId: interviewId, requestId, reason: '保存期满，申请销毁', requestedBy: 'legal', approvedBy: 'supervisor' });
    expect(record.manifestSha256).toBe(createHash('sha256').update(manifestBefore).digest('hex'));
    expect(record.files.slice(0, segmentFiles.length)).toEqual(segmentFiles);
    expect(record.files.at(-1)).toMatchObject({ file: `exports/${exportId}.zip`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(record.destroyedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await legal.get('/api/retention/candidates')).json).toEqual([]);
    expect((await legal.post(`/api/sessions/${interviewId}/destruction-requests`, { reason: '再次' })).json.error.code).toBe('destroyed');

    const db = new Database(join(dataDir, 'hearing-recorder.db'), { fileMustExist: true });
    try {
      expect(() => db.prepare('DELETE FROM destruction_records').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE destruction_requests SET reason = 'x'").run()).toThrow(/never rewritten/);
    } finally {
      db.close();
    }

    const auditor = await login('auditor');
    const entries = (await auditor.get('/api/audit?limit=200')).json.entries as { action: string; actor: string; target: string; detail: any }[];
    const actions = entries.map((e) => `${e.action} ${e.actor}`);
    for (const expected of [
      'retention.hold_placed legal',
      'retention.hold_released legal',
      'retention.destruction_requested legal',
      'retention.destruction_rejected supervisor',
      'retention.destruction_approved supervisor',
      'evidence.destroyed supervisor',
    ]) {
      expect(actions).toContain(expected);
    }
    const destroyed = entries.find((e) => e.action === 'evidence.destroyed')!;
    expect(destroyed).toMatchObject({ target: interviewId, detail: { requestId, removed: segmentFiles.length + 1, absent: [], failed: [] } });
  });

  it('replay and export of the destroyed session answer 409 destroyed instead of failing on missing files', async () => {
    const cameraId = segmentFiles[0]!.file.split('/').at(-2)!;
    for (const path of [
      `/api/sessions/${interviewId}/cameras/${cameraId}/index.m3u8`,
      `/api/sessions/${interviewId}/cameras/${cameraId}/segments/000001.ts`,
      `/api/exports/${exportId}/download`,
    ]) {
      const answer = await legal.get(path);
      expect(answer.status, path).toBe(409);
      expect(answer.json.error.code, path).toBe('destroyed');
      expect(answer.json.error.message, path).toMatch(/destroyed past their retention on \d{4}-\d{2}-\d{2} \(Beijing time; requested by legal, approved by supervisor\)/);
    }
    const chinese = await legal.request('GET', `/api/sessions/${interviewId}/cameras/${cameraId}/index.m3u8`, undefined, { 'accept-language': 'zh-CN' });
    expect(chinese.json.error.message).toMatch(/已于 \d{4}-\d{2}-\d{2}（北京时间）依保存期限销毁（申请人 legal，批准人 supervisor）/);
    const again = await legal.post(`/api/sessions/${interviewId}/exports`, {});
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('destroyed');
    // The permanent hearing still replays.
    const hearing = await legal.get(`/api/sessions/${hearingId}/cameras/h1-wide/index.m3u8`);
    expect(hearing.status, hearing.text).toBe(200);
  });

  it('the integrity scrub reports the destroyed files as destroyed, not as missing or tampered', async () => {
    const admin = await login('admin');
    const scrub = await admin.post('/api/evidence/scrub');
    expect(scrub.status, scrub.text).toBe(200);
    expect(scrub.json.findings).toEqual([]);
    expect(scrub.json.destroyed).toEqual(segmentFiles.map((s) => ({ sessionId: interviewId, path: s.file, sha256: s.sha256 })));
    // Both manifests and the hearing's segments were re-hashed.
    expect(scrub.json.checked).toBeGreaterThan(2);
  });

  it('a destruction stopped between its record and the removal of the files is finished at the next start, audited as resumed', async () => {
    // As if the server had died after writing the record: one file of the record is still there.
    const left = join(dataDir, segmentFiles[0]!.file);
    const folder = join(left, '..');
    chmodSync(folder, 0o755);
    writeFileSync(left, 'left behind');
    chmodSync(folder, 0o555);
    await server!.stop();
    server = await startTestServer({ dataDir, demoOverrides: INTERVIEW_DAYS_0 });
    expect(existsSync(left)).toBe(false);
    const auditor = await login('auditor');
    const entries = (await auditor.get('/api/audit?limit=50')).json.entries as { action: string; actor: string | null; target: string; detail: any }[];
    expect(entries.find((e) => e.action === 'evidence.destroyed' && e.detail.resumed)).toMatchObject({
      actor: null,
      target: interviewId,
      detail: { requestId, resumed: true, removed: 1, failed: [] },
    });
  });
});
