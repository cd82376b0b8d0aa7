import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents, SessionMarkEvent, SessionStateEvent } from '../../server/src/realtime/events.ts';
import { ApiClient, readDemoConfig, startTestServer, type TestServer } from '../helpers/server.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A literal resident identity number: it must never reach a log, the audit log or a clerk. */
const ID_NUMBER = '110101199003077777';
const MASKED = '1101**********7777';

let server: TestServer;
let clerk: ApiClient;
let supervisor: ApiClient;
let legal: ApiClient;
let admin: ApiClient;
let security: ApiClient;
let auditor: ApiClient;
/** Every response body the clerk and supervisor got. */
const caseworkBodies: string[] = [];
let caseCounter = 0;

async function as(client: ApiClient, method: string, path: string, body?: unknown) {
  const response = await client.request(method, path, body);
  if (client === clerk || client === supervisor) caseworkBodies.push(response.text);
  return response;
}

const hearingParticipants = [
  { name: '张主持', role: 'presiding' },
  { name: '李执法', role: 'officer', badgeNumber: 'AJ-1101-0001' },
  { name: '王调查', role: 'investigator', badgeNumber: 'AJ-1101-0002' },
  { name: '赵当事', role: 'party', idNumber: ID_NUMBER },
  { name: '钱代理', role: 'agent' },
];

/** Opens a penalty hearing in hearing-1 for a new case and answers its id. */
async function newHearing(overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await as(clerk, 'POST', '/api/sessions', {
    caseNumber: `应急罚〔2026〕${++caseCounter}号`,
    title: '某化工有限公司行政处罚听证',
    procedure: 'penalty-hearing',
    roomId: 'hearing-1',
    participants: hearingParticipants,
    ...overrides,
  });
  expect(response.status, response.text).toBe(201);
  return response.json.id as string;
}

const mark = (sessionId: string, body: Record<string, unknown>) =>
  as(clerk, 'POST', `/api/sessions/${sessionId}/marks`, { clientId: randomUUID(), clientTime: new Date().toISOString(), clockOffsetMs: 0, ...body });

async function action(sessionId: string, what: string, body?: unknown) {
  const response = await as(clerk, 'POST', `/api/sessions/${sessionId}/${what}`, body ?? {});
  expect(response.status, `${what}: ${response.text}`).toBe(200);
  return response.json;
}

function openSocket(client: ApiClient): Promise<ClientSocket> {
  const socket: ClientSocket = connect(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: client.sessionCookie! } });
  return new Promise((resolve) => socket.once('server:hello', () => resolve(socket)));
}

beforeAll(async () => {
  // These tests are about the session state machine: with the demo cameras disabled no camera gap is
  // registered at start (recording, with its gaps, is tested in recording*.test.ts).
  server = await startTestServer({ demoOverrides: { cameras: readDemoConfig().cameras.map((c) => ({ ...c, enabled: false })) } });
  [clerk, supervisor, legal, admin, security, auditor] = ['clerk', 'supervisor', 'legal', 'admin', 'security', 'auditor'].map(() => new ApiClient(server.url)) as ApiClient[] as [ApiClient, ApiClient, ApiClient, ApiClient, ApiClient, ApiClient];
  await Promise.all([clerk.login('clerk'), supervisor.login('supervisor'), legal.login('legal'), admin.login('admin'), security.login('security'), auditor.login('auditor')]);
  // A room the demo clerk is not assigned to.
  expect((await admin.post('/api/rooms', { id: 'hearing-2', name: '听证室二', kind: 'hearing' })).status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

describe('a penalty hearing through the API', () => {
  it('runs from case to seal: start, marks 18–25, recess and resume as an explained interruption, stop, seal', async () => {
    const created = await as(clerk, 'POST', '/api/cases', { caseNumber: '应急罚〔2026〕900号', title: '某化工有限公司未按规定开展安全培训', parties: ['某化工有限公司'] });
    expect(created.status).toBe(201);
    const caseId = created.json.id as string;
    const opened = await as(clerk, 'POST', '/api/sessions', { caseId, title: '第一次听证', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: hearingParticipants });
    expect(opened.status, opened.text).toBe(201);
    const id = opened.json.id as string;

    const before = Date.now();
    const started = await action(id, 'start');
    expect(started).toMatchObject({ id, state: 'recording', caseId, roomId: 'hearing-1' });
    expect(Date.parse(started.startedAt)).toBeGreaterThanOrEqual(before - 1000);

    for (const item of [18, 19, 20, 21]) expect((await mark(id, { item })).status).toBe(201);
    const recess = await action(id, 'recess', { reason: '当事人申请休息十分钟' });
    expect(recess.state).toBe('recess');
    // A recess refuses stage marks but takes notes.
    expect((await mark(id, { item: 22 })).json.error.code).toBe('session_in_recess');
    expect((await mark(id, { note: '当事人暂时离开听证室' })).status).toBe(201);
    expect((await action(id, 'resume')).state).toBe('recording');
    for (const item of [22, 23, 24, 25]) expect((await mark(id, { item })).status).toBe(201);
    const stopped = await action(id, 'stop');
    expect(stopped.state).toBe('ended');
    const sealed = await action(id, 'seal');
    expect(sealed).toMatchObject({ state: 'sealed', sealedBy: 'clerk' });

    const view = (await as(supervisor, 'GET', `/api/sessions/${id}`)).json;
    expect(view.history.map((h: { to: string }) => h.to)).toEqual(['scheduled', 'recording', 'recess', 'recording', 'ended', 'sealed']);
    expect(view.history[2]).toMatchObject({ from: 'recording', to: 'recess', actor: 'clerk', reason: '当事人申请休息十分钟' });
    expect(view.stages.map((s: { item: number }) => s.item)).toEqual([18, 19, 20, 21, 22, 23, 24, 25]);
    expect(view.stages.at(-1).to).toBe(stopped.endedAt);
    for (let i = 1; i < view.stages.length; i++) expect(view.stages[i].from).toBe(view.stages[i - 1].to);
    expect(view.currentStage).toBeNull();
    expect(view.marks).toHaveLength(9);
    expect(view.marks.filter((m: { note: string | null }) => m.note !== null)).toHaveLength(1);
    expect(view.interruptions).toEqual([
      {
        id: expect.any(Number),
        sessionId: id,
        cameraId: null,
        startedAt: view.history[2].at,
        endedAt: view.history[3].at,
        cause: 'recess',
        explanation: '当事人申请休息十分钟',
        explainedBy: 'clerk',
        explainedAt: view.history[2].at,
      },
    ]);
    expect(view.participants.find((p: { role: string }) => p.role === 'party').idNumber).toBe(MASKED);

    // Compliance (the cameras are disabled here, so no footage): findings cite items and rules.
    const compliance = await as(legal, 'GET', `/api/sessions/${id}/compliance`);
    expect(compliance.status).toBe(200);
    expect(compliance.json.findings.map((f: { item: number | null; rule: string; severity: string }) => [f.item, f.rule, f.severity])).toEqual([
      [17, 'hearing-notice-period', 'warning'],
      [18, 'hearing-fixed-footage', 'error'],
      [null, 'recording-method', 'warning'],
      [null, 'interruptions', 'info'],
    ]);
    expect(compliance.json.findings[0].message).toMatch(/hearing-notice-served/);
    expect((await admin.get(`/api/sessions/${id}/compliance`)).status).toBe(403);
    expect((await legal.get('/api/sessions/no-such-session/compliance')).status).toBe(404);

    const theCase = (await as(supervisor, 'GET', `/api/cases/${caseId}`)).json;
    expect(theCase.sessions).toEqual([expect.objectContaining({ id, state: 'sealed' })]);

    // Nothing changes a sealed session.
    expect((await mark(id, { item: 25 })).status).toBe(409);
    const firstMark = view.marks[0].id as string;
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${firstMark}/corrections`, { kind: 'void', reason: 'x' })).json.error.code).toBe('session_sealed');

    const audit = (await auditor.get('/api/audit?limit=500')).json.entries as { action: string; target: string }[];
    const actions = audit.filter((e) => e.target === id).map((e) => e.action).reverse();
    expect(actions.filter((a) => a !== 'session.mark')).toEqual(['session.created', 'session.start', 'session.recess', 'session.resume', 'session.stop', 'session.manifest_written', 'session.seal']);
    expect(actions.filter((a) => a === 'session.mark')).toHaveLength(9);
  });
});

describe('the state machine', () => {
  it('answers 409 naming the current state for a change the state does not allow', async () => {
    const id = await newHearing();
    for (const what of ['stop', 'resume', 'seal']) {
      const response = await as(clerk, 'POST', `/api/sessions/${id}/${what}`, {});
      expect(response.status).toBe(409);
      expect(response.json.error).toMatchObject({ code: 'invalid_state', message: expect.stringContaining('The session is scheduled') });
    }
    await action(id, 'start');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/start`, {})).json.error.message).toContain('The session is recording');
    // Stopping from a recess ends the recess with the session.
    await action(id, 'recess', { reason: '休会' });
    const stopped = await action(id, 'stop');
    const view = (await as(clerk, 'GET', `/api/sessions/${id}`)).json;
    expect(view.interruptions).toMatchObject([{ cause: 'recess', endedAt: stopped.endedAt }]);
    expect((await as(clerk, 'POST', `/api/sessions/${id}/recess`, { reason: 'x' })).json.error.message).toContain('The session is ended');
  });

  it('lets one session record in a room at a time: a second start gets 409 naming the other session', async () => {
    const first = await newHearing();
    const second = await newHearing();
    await action(first, 'start');
    const refused = await as(clerk, 'POST', `/api/sessions/${second}/start`, {});
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('room_busy');
    expect(refused.json.error.message).toContain(first);
    // A recess still holds the room.
    await action(first, 'recess', { reason: '休会' });
    expect((await as(clerk, 'POST', `/api/sessions/${second}/start`, {})).json.error.code).toBe('room_busy');
    await action(first, 'stop');
    expect((await action(second, 'start')).state).toBe('recording');
    await action(second, 'stop');
  });

  it('seals only when every interruption is explained, naming the unexplained ones', async () => {
    const id = await newHearing();
    await action(id, 'start');
    await action(id, 'stop');
    // Recording registers camera interruptions; here they are written as it would write them.
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'));
    const insert = db.prepare("INSERT INTO interruptions (session_id, camera_id, started_at, ended_at, cause) VALUES (?, ?, ?, ?, 'connection-lost')");
    const a = Number(insert.run(id, 'h1-wide', '2026-12-04T01:00:00.000Z', '2026-12-04T01:00:05.000Z').lastInsertRowid);
    const b = Number(insert.run(id, 'h1-party', '2026-12-04T01:02:00.000Z', '2026-12-04T01:02:03.000Z').lastInsertRowid);
    db.close();

    const refused = await as(clerk, 'POST', `/api/sessions/${id}/seal`, {});
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('unexplained_interruptions');
    expect(refused.json.error.message).toContain(`#${a} (h1-wide`);
    expect(refused.json.error.message).toContain(`#${b} (h1-party`);

    const explained = await as(clerk, 'POST', `/api/sessions/${id}/interruptions/${a}/explanation`, { text: '网线松动，已重新插好' });
    expect(explained.json).toMatchObject({ id: a, explanation: '网线松动，已重新插好', explainedBy: 'clerk' });
    expect((await as(clerk, 'POST', `/api/sessions/${id}/interruptions/${a}/explanation`, { text: '再次说明' })).json.error.code).toBe('already_explained');
    const still = await as(clerk, 'POST', `/api/sessions/${id}/seal`, {});
    expect(still.json.error.message).toContain(`#${b}`);
    expect(still.json.error.message).not.toContain(`#${a} `);
    expect((await as(clerk, 'POST', `/api/sessions/${id}/interruptions/999999/explanation`, { text: 'x' })).status).toBe(404);
    await as(clerk, 'POST', `/api/sessions/${id}/interruptions/${b}/explanation`, { text: '摄像机断电' });
    expect((await action(id, 'seal')).state).toBe('sealed');
  });
});

describe('marks', () => {
  it('are refused before the session records (409) and after it ended', async () => {
    const id = await newHearing();
    const early = await mark(id, { item: 18 });
    expect(early.status).toBe(409);
    expect(early.json.error).toMatchObject({ code: 'session_not_recording', message: expect.stringContaining('scheduled') });
    await action(id, 'start');
    await action(id, 'stop');
    expect((await mark(id, { note: '迟到的备注' })).json.error.code).toBe('session_not_recording');
  });

  it('refuses an item outside the session procedure (400 unknown_item) and bad bodies (400)', async () => {
    const id = await newHearing();
    await action(id, 'start');
    const unknown = await mark(id, { item: 17 });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe('unknown_item');
    expect(unknown.json.error.message).toContain('18, 19, 20, 21, 22, 23, 24, 25');
    expect((await mark(id, { item: 18, note: 'both' })).json.error.code).toBe('invalid_request');
    expect((await mark(id, { item: 18, clientId: 'not-a-uuid' })).json.error.code).toBe('invalid_request');
    expect((await mark(id, { item: 18, clientTime: '2026-12-04 10:00' })).json.error.code).toBe('invalid_request');
    await action(id, 'stop');
  });

  it('are idempotent by clientId: a retry answers the same mark and stores no second one', async () => {
    const id = await newHearing();
    await action(id, 'start');
    const body = { item: 18, clientId: randomUUID(), clientTime: new Date().toISOString(), clockOffsetMs: 0 };
    const first = await as(clerk, 'POST', `/api/sessions/${id}/marks`, body);
    const retry = await as(clerk, 'POST', `/api/sessions/${id}/marks`, body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(first.json);
    // A retry that arrives after the session stopped still gets its mark back.
    await action(id, 'stop');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks`, body)).json).toEqual(first.json);
    const view = (await as(clerk, 'GET', `/api/sessions/${id}`)).json;
    expect(view.records.marks).toHaveLength(1);
    // The same clientId for different content is a client bug, not a retry.
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks`, { ...body, item: 19 })).json.error.code).toBe('client_id_reused');
  });

  it('places a late delivery at the client time corrected by the measured clock offset, flagged delayed', async () => {
    const id = await newHearing();
    const started = await action(id, 'start');
    const clickedAt = Date.parse(started.startedAt) + 500;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The client's clock runs 7.5 s behind the server's, as its clock:ping measured.
    const offset = 7500;
    const late = await mark(id, { item: 18, clientTime: new Date(clickedAt - offset).toISOString(), clockOffsetMs: offset });
    expect(late.status).toBe(201);
    expect(late.json).toMatchObject({ item: 18, effectiveAt: new Date(clickedAt).toISOString(), delayed: true });
    const onTime = await mark(id, { item: 19, clientTime: new Date(Date.now() - offset).toISOString(), clockOffsetMs: offset });
    expect(onTime.json.delayed).toBe(false);
    const record = (await as(clerk, 'GET', `/api/sessions/${id}`)).json.records.marks[0];
    expect(record).toMatchObject({ clientTime: new Date(clickedAt - offset).toISOString(), clockOffsetMs: offset, effectiveAt: new Date(clickedAt).toISOString(), delayed: true });
    expect(Date.parse(record.serverTime) - clickedAt).toBeGreaterThan(2000);
    await action(id, 'stop');
  });

  it('are corrected by new records: stages move, the marks as delivered stay as they were', async () => {
    const id = await newHearing();
    await action(id, 'start');
    const m18 = (await mark(id, { item: 18 })).json;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const m19 = (await mark(id, { item: 19 })).json;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const m20 = (await mark(id, { item: 20 })).json;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await action(id, 'stop');
    const before = (await as(clerk, 'GET', `/api/sessions/${id}`)).json;
    expect(before.stages.map((s: { item: number }) => s.item)).toEqual([18, 19, 20]);

    const later = new Date(Date.parse(m20.effectiveAt) + 20).toISOString();
    const retimed = await as(clerk, 'POST', `/api/sessions/${id}/marks/${m19.id}/corrections`, { kind: 'retime', at: later, reason: '书记员迟点了“陈述申辩”' });
    expect(retimed.status, retimed.text).toBe(201);
    expect(retimed.json.mark).toMatchObject({ id: m19.id, effectiveAt: later, corrections: [retimed.json.correction.id] });
    const changed = await as(clerk, 'POST', `/api/sessions/${id}/marks/${m18.id}/corrections`, { kind: 'change-item', item: 21, reason: '点错了按钮' });
    expect(changed.status, changed.text).toBe(201);

    const after = (await as(clerk, 'GET', `/api/sessions/${id}`)).json;
    expect(after.stages.map((s: { item: number }) => s.item)).toEqual([21, 20, 19]);
    expect(after.stages[2]).toEqual({ item: 19, from: later, to: before.stages[2].to });
    expect(after.records.marks).toEqual(before.records.marks);
    expect(after.records.corrections).toMatchObject([
      { markId: m19.id, kind: 'retime', at: later, reason: '书记员迟点了“陈述申辩”', createdBy: 'clerk' },
      { markId: m18.id, kind: 'change-item', item: 21, reason: '点错了按钮' },
    ]);

    const voided = await as(clerk, 'POST', `/api/sessions/${id}/marks/${m20.id}/corrections`, { kind: 'void', reason: '误点' });
    expect(voided.json.mark.voided).toBe(true);
    const last = (await as(clerk, 'GET', `/api/sessions/${id}`)).json;
    expect(last.stages.map((s: { item: number }) => s.item)).toEqual([21, 19]);
    expect(last.marks.find((m: { id: string }) => m.id === m20.id)).toMatchObject({ voided: true, item: 20 });
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${m20.id}/corrections`, { kind: 'void', reason: 'again' })).json.error.code).toBe('mark_voided');

    // Bad corrections.
    const outside = await as(clerk, 'POST', `/api/sessions/${id}/marks/${m18.id}/corrections`, { kind: 'retime', at: '2020-01-01T00:00:00.000Z', reason: 'x' });
    expect(outside.json.error.code).toBe('retime_outside_session');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${m18.id}/corrections`, { kind: 'change-item', item: 3, reason: 'x' })).json.error.code).toBe('unknown_item');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${m18.id}/corrections`, { kind: 'retime', reason: 'no time' })).json.error.code).toBe('invalid_request');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${m18.id}/corrections`, { kind: 'void' })).json.error.code).toBe('invalid_request');
    expect((await as(clerk, 'POST', `/api/sessions/${id}/marks/${randomUUID()}/corrections`, { kind: 'void', reason: 'x' })).status).toBe(404);
  });
});

describe('opening a session', () => {
  it('creates the case of a case number that does not exist yet, and reuses one that does', async () => {
    const caseNumber = `应急罚〔2026〕${++caseCounter}号`;
    const first = await newHearing({ caseNumber });
    const second = await newHearing({ caseNumber });
    const a = (await as(clerk, 'GET', `/api/sessions/${first}`)).json;
    const b = (await as(clerk, 'GET', `/api/sessions/${second}`)).json;
    expect(a.caseId).toBe(b.caseId);
    expect(a.caseNumber).toBe(caseNumber);
    expect((await as(clerk, 'GET', `/api/cases/${a.caseId}`)).json.sessions.map((s: { id: string }) => s.id)).toEqual([first, second]);
  });

  it('refuses bad input with 400 naming what is wrong', async () => {
    const post = (body: Record<string, unknown>) =>
      as(clerk, 'POST', '/api/sessions', { caseNumber: `应急罚〔2026〕${++caseCounter}号`, title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [], ...body });
    expect((await post({ procedure: 'trial' })).json.error.code).toBe('unknown_procedure');
    expect((await post({ roomId: 'nowhere' })).json.error.code).toBe('unknown_room');
    expect((await post({ roomId: 'interview-1' })).json.error.code).toBe('procedure_not_for_room');
    expect((await post({ participants: [{ name: '李执法', role: 'officer' }] })).json.error).toMatchObject({ code: 'badge_number_required', message: expect.stringContaining('李执法') });
    const duplicate = await post({ participants: [{ name: '甲', role: 'officer', badgeNumber: 'AJ-1' }, { name: '乙', role: 'investigator', badgeNumber: 'AJ-1' }] });
    expect(duplicate.status).toBe(400);
    expect(duplicate.json.error).toMatchObject({ code: 'duplicate_badge_number', message: expect.stringContaining('AJ-1') });
    expect((await post({ participants: [{ name: '甲', role: 'judge' }] })).json.error.code).toBe('invalid_request');
    expect((await post({ caseId: randomUUID() })).json.error.code).toBe('invalid_request');
    const { caseNumber: _omit, ...withoutCase } = { caseNumber: 'x', title: '听证', procedure: 'penalty-hearing', participants: [] };
    expect((await as(clerk, 'POST', '/api/sessions', withoutCase)).json.error.code).toBe('invalid_request');
    expect((await as(clerk, 'POST', '/api/sessions', { caseId: randomUUID(), ...withoutCase })).status).toBe(404);
    // A portable session (no room) for an on-site inspection.
    expect((await post({ roomId: undefined, procedure: 'on-site-inspection' })).status).toBe(201);
  });
});

describe('identity numbers', () => {
  it('are masked for clerk and supervisor, in full for legal, and never in the logs or the audit log', async () => {
    const id = await newHearing();
    const party = (client: ApiClient) => as(client, 'GET', `/api/sessions/${id}`).then((r) => r.json.participants.find((p: { role: string }) => p.role === 'party'));
    expect(await party(clerk)).toEqual({ name: '赵当事', role: 'party', idNumber: MASKED, badgeNumber: null });
    expect((await party(supervisor)).idNumber).toBe(MASKED);
    expect((await party(legal)).idNumber).toBe(ID_NUMBER);
    const officers = (await as(clerk, 'GET', `/api/sessions/${id}`)).json.participants.filter((p: { badgeNumber: string | null }) => p.badgeNumber);
    expect(officers.map((p: { badgeNumber: string }) => p.badgeNumber)).toEqual(['AJ-1101-0001', 'AJ-1101-0002']);

    // A bad request carrying one does not echo it either.
    const bad = await as(clerk, 'POST', '/api/sessions', { caseNumber: 'x-1', title: 't', procedure: 'penalty-hearing', participants: [{ name: '赵当事', role: 'nobody', idNumber: ID_NUMBER }] });
    expect(bad.status).toBe(400);

    const audit = (await auditor.get('/api/audit?limit=500')).text;
    expect(audit).toContain('session.created');
    expect(audit).not.toContain(ID_NUMBER);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.output.join('\n')).toContain('session');
    expect(server.output.join('\n')).not.toContain(ID_NUMBER);
    expect(caseworkBodies.length).toBeGreaterThan(5);
    for (const body of caseworkBodies) expect(body).not.toContain(ID_NUMBER);
  });
});

describe('roles', () => {
  const routes = (id: string, markId: string) => [
    ['GET', '/api/sessions'],
    ['POST', '/api/sessions'],
    ['GET', `/api/sessions/${id}`],
    ['POST', `/api/sessions/${id}/start`],
    ['POST', `/api/sessions/${id}/stop`],
    ['POST', `/api/sessions/${id}/recess`],
    ['POST', `/api/sessions/${id}/resume`],
    ['POST', `/api/sessions/${id}/seal`],
    ['POST', `/api/sessions/${id}/marks`],
    ['POST', `/api/sessions/${id}/marks/${markId}/corrections`],
    ['POST', `/api/sessions/${id}/interruptions/1/explanation`],
  ] as const;

  it('answers 401 without a login and 403 to admin, security and auditor on every session route (三员分立)', async () => {
    const id = await newHearing();
    const anonymous = new ApiClient(server.url);
    for (const [method, path] of routes(id, randomUUID())) {
      expect((await anonymous.request(method, path, method === 'POST' ? {} : undefined)).status, `${method} ${path}`).toBe(401);
      for (const client of [admin, security, auditor]) {
        expect((await client.request(method, path, method === 'POST' ? {} : undefined)).status, `${method} ${path}`).toBe(403);
      }
    }
  });

  it('lets supervisor and legal read but not run a session', async () => {
    const id = await newHearing();
    for (const client of [supervisor, legal]) {
      expect((await client.get(`/api/sessions/${id}`)).status).toBe(200);
      expect((await client.get('/api/sessions?state=scheduled')).json.map((s: { id: string }) => s.id)).toContain(id);
      for (const [method, path] of routes(id, randomUUID()).filter(([m]) => m === 'POST')) {
        expect((await client.request(method, path, {})).status, `${method} ${path}`).toBe(403);
      }
    }
  });

  it('lets a clerk open and run sessions only in the rooms assigned to them', async () => {
    const refused = await as(clerk, 'POST', '/api/sessions', { caseNumber: `应急罚〔2026〕${++caseCounter}号`, title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-2', participants: [] });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toContain('hearing-2');
    // A session in hearing-2 opened by someone allowed there is out of the clerk's reach.
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'));
    const id = await newHearing();
    db.prepare("UPDATE sessions SET room_id = 'hearing-2' WHERE id = ?").run(id);
    db.close();
    expect((await as(clerk, 'GET', `/api/sessions/${id}`)).status).toBe(403);
    expect((await as(clerk, 'POST', `/api/sessions/${id}/start`, {})).status).toBe(403);
    expect((await as(clerk, 'GET', '/api/sessions')).json.map((s: { id: string }) => s.id)).not.toContain(id);
    expect((await supervisor.get(`/api/sessions/${id}`)).status).toBe(200);
  });
});

describe('socket.io', () => {
  it("sends state changes and marks with the current stage to a supervisor's socket, and nothing to the admin's", async () => {
    const watcher = await openSocket(supervisor);
    const adminSocket = await openSocket(admin);
    const states: SessionStateEvent[] = [];
    const marks: SessionMarkEvent[] = [];
    const adminEvents: unknown[] = [];
    watcher.on('session:state', (e) => states.push(e));
    watcher.on('session:mark', (e) => marks.push(e));
    adminSocket.on('session:state', (e) => adminEvents.push(e));
    adminSocket.on('session:mark', (e) => adminEvents.push(e));
    try {
      const id = await newHearing();
      await action(id, 'start');
      const marked = (await mark(id, { item: 18 })).json;
      await action(id, 'recess', { reason: '休息' });
      await action(id, 'resume');
      await action(id, 'stop');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const mine = states.filter((e) => e.sessionId === id);
      expect(mine.map((e) => e.state)).toEqual(['recording', 'recess', 'recording', 'ended']);
      expect(mine[0]).toMatchObject({ roomId: 'hearing-1', from: 'scheduled', actor: 'clerk', currentStage: null });
      expect(mine[1]).toMatchObject({ reason: '休息', currentStage: { item: 18, to: null } });
      expect(marks.filter((e) => e.sessionId === id)).toEqual([
        { sessionId: id, roomId: 'hearing-1', mark: marked, currentStage: { item: 18, from: marked.effectiveAt, to: null } },
      ]);
      expect(adminEvents).toEqual([]);
    } finally {
      watcher.close();
      adminSocket.close();
    }
  });
});
