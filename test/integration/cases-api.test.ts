import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let clerk: ApiClient;
let supervisor: ApiClient;
let legal: ApiClient;
let admin: ApiClient;
let security: ApiClient;
let auditor: ApiClient;

const createCase = (client: ApiClient, body: Record<string, unknown>) => client.post('/api/cases', body);

beforeAll(async () => {
  server = await startTestServer();
  const clients = ['clerk', 'supervisor', 'legal', 'admin', 'security', 'auditor'].map(() => new ApiClient(server.url));
  [clerk, supervisor, legal, admin, security, auditor] = clients as [ApiClient, ApiClient, ApiClient, ApiClient, ApiClient, ApiClient];
  await Promise.all(['clerk', 'supervisor', 'legal', 'admin', 'security', 'auditor'].map((name, i) => clients[i]!.login(name)));
});

afterAll(async () => {
  await server?.stop();
});

describe('cases', () => {
  it('are created by a clerk or legal staff, once per case number (409 for a duplicate)', async () => {
    const created = await createCase(clerk, { caseNumber: '应急罚〔2026〕1号', title: '某化工有限公司未按规定开展安全培训', parties: ['某化工有限公司', '张三'] });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: expect.any(String) });
    const again = await createCase(legal, { caseNumber: ' 应急罚〔2026〕1号 ', title: '另一个标题', parties: [] });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'case_exists', message: expect.stringContaining('应急罚〔2026〕1号') });
    const zh = await legal.request('POST', '/api/cases', { caseNumber: '应急罚〔2026〕1号', title: 't', parties: [] }, { 'accept-language': 'zh-CN' });
    expect(zh.json.error.message).toContain('已存在');
    expect((await createCase(legal, { caseNumber: '', title: 't', parties: [] })).json.error.code).toBe('invalid_request');
    expect((await createCase(legal, { caseNumber: 'x', title: 't' })).json.error.code).toBe('invalid_request');
  });

  it('are found by part of the case number, a party or the title', async () => {
    await createCase(legal, { caseNumber: '应急罚〔2026〕21号', title: '某矿业公司重大事故隐患', parties: ['某矿业有限公司'] });
    await createCase(legal, { caseNumber: '应急罚〔2026〕22号', title: '某烟花爆竹店超量储存', parties: ['李四'] });
    const numbers = async (query: string) =>
      ((await supervisor.get(`/api/cases?query=${encodeURIComponent(query)}`)).json.cases as { caseNumber: string }[]).map((c) => c.caseNumber).sort();
    expect(await numbers('〔2026〕2')).toEqual(['应急罚〔2026〕21号', '应急罚〔2026〕22号']);
    expect(await numbers('李四')).toEqual(['应急罚〔2026〕22号']);
    expect(await numbers('矿业')).toEqual(['应急罚〔2026〕21号']);
    expect(await numbers('没有这个')).toEqual([]);
    // LIKE wildcards are literal.
    expect(await numbers('%')).toEqual([]);
    const page = (await clerk.get('/api/cases?limit=1')).json;
    expect(page.cases).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(3);
    expect(page.cases[0]).toMatchObject({ caseNumber: expect.any(String), parties: expect.any(Array), sessionCount: 0, createdBy: expect.any(String) });
    expect((await clerk.get('/api/cases?limit=0')).json.error.code).toBe('invalid_request');
  });

  it('are read with their dated events and their sessions', async () => {
    const id = (await createCase(legal, { caseNumber: '应急罚〔2026〕30号', title: '某加油站未落实安全生产责任制', parties: ['某加油站'] })).json.id as string;
    const session = await clerk.post('/api/sessions', { caseId: id, title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [] });
    expect(session.status).toBe(201);
    expect((await legal.post(`/api/cases/${id}/events`, { kind: 'penalty-notice-served', at: '2026-11-02', note: '直接送达' })).status).toBe(201);
    expect((await legal.post(`/api/cases/${id}/events`, { kind: 'hearing-requested', at: '2026-11-05' })).status).toBe(201);
    const view = (await clerk.get(`/api/cases/${id}`)).json;
    expect(view).toMatchObject({ id, caseNumber: '应急罚〔2026〕30号', title: '某加油站未落实安全生产责任制', parties: ['某加油站'], createdBy: 'legal' });
    expect(view.events).toEqual([
      { id: expect.any(Number), kind: 'penalty-notice-served', at: '2026-11-02', note: '直接送达', createdBy: 'legal', createdAt: expect.any(String) },
      { id: expect.any(Number), kind: 'hearing-requested', at: '2026-11-05', note: null, createdBy: 'legal', createdAt: expect.any(String) },
    ]);
    expect(view.sessions).toEqual([{ id: session.json.id, title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-1', state: 'scheduled', startedAt: null, endedAt: null }]);
    expect((await supervisor.get(`/api/cases/${randomUUID()}`)).status).toBe(404);
  });
});

describe('case events', () => {
  it('take calendar dates and refuse a deadline before the notice that set it (400 naming both)', async () => {
    const id = (await createCase(legal, { caseNumber: '应急罚〔2026〕40号', title: '整改', parties: ['某公司'] })).json.id as string;
    const add = (body: Record<string, unknown>) => legal.post(`/api/cases/${id}/events`, body);
    expect((await add({ kind: 'rectification-order-served', at: '2026-11-10' })).status).toBe(201);
    const early = await add({ kind: 'rectification-deadline', at: '2026-11-09' });
    expect(early.status).toBe(400);
    expect(early.json.error.code).toBe('event_out_of_order');
    expect(early.json.error.message).toContain('rectification-deadline 2026-11-09 is before rectification-order-served 2026-11-10');
    expect((await add({ kind: 'rectification-deadline', at: '2026-12-10' })).status).toBe(201);
    // Adding the earlier event after the later one is checked too.
    const hearing = await add({ kind: 'hearing-date', at: '2026-11-20' });
    expect(hearing.status).toBe(201);
    expect((await add({ kind: 'hearing-notice-served', at: '2026-11-21' })).json.error.message).toContain('hearing-date 2026-11-20 is before hearing-notice-served 2026-11-21');
    for (const at of ['2026-02-30', '2026-11-10T08:00:00Z', '20261110']) expect((await add({ kind: 'evidence-preserved', at })).json.error.code).toBe('invalid_request');
    expect((await add({ kind: 'lunch', at: '2026-11-10' })).json.error.code).toBe('invalid_request');
    expect((await legal.post(`/api/cases/${randomUUID()}/events`, { kind: 'evidence-preserved', at: '2026-11-10' })).status).toBe(404);
    expect((await clerk.get(`/api/cases/${id}`)).json.events.map((e: { kind: string }) => e.kind)).toEqual(['rectification-order-served', 'hearing-date', 'rectification-deadline']);
  });
});

describe('roles on case routes', () => {
  it('answer 401 without login, 403 to the administrators, and follow docs/roles.md for casework', async () => {
    const id = (await createCase(legal, { caseNumber: '应急罚〔2026〕50号', title: '角色', parties: [] })).json.id as string;
    const anonymous = new ApiClient(server.url);
    const routes = [
      ['GET', '/api/cases'],
      ['POST', '/api/cases'],
      ['GET', `/api/cases/${id}`],
      ['POST', `/api/cases/${id}/events`],
    ] as const;
    for (const [method, path] of routes) {
      expect((await anonymous.request(method, path, method === 'POST' ? {} : undefined)).status).toBe(401);
      for (const client of [admin, security, auditor]) expect((await client.request(method, path, method === 'POST' ? {} : undefined)).status, `${method} ${path}`).toBe(403);
    }
    const event = { kind: 'evidence-preserved', at: '2026-11-10' };
    expect((await clerk.post(`/api/cases/${id}/events`, event)).status).toBe(403);
    expect((await supervisor.post(`/api/cases/${id}/events`, event)).status).toBe(403);
    expect((await supervisor.post('/api/cases', { caseNumber: '应急罚〔2026〕51号', title: 't', parties: [] })).status).toBe(403);
    expect((await supervisor.get(`/api/cases/${id}`)).status).toBe(200);
    expect((await legal.get('/api/cases')).status).toBe(200);
  });

  it('records case changes in the audit log', async () => {
    const entries = (await auditor.get('/api/audit?limit=500')).json.entries as { action: string; actor: string }[];
    expect(entries.some((e) => e.action === 'case.created' && e.actor === 'clerk')).toBe(true);
    expect(entries.some((e) => e.action === 'case.event_added' && e.actor === 'legal')).toBe(true);
  });
});
