import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

const ROLES = ['admin', 'security', 'auditor', 'clerk', 'supervisor', 'legal'] as const;
type DemoRole = (typeof ROLES)[number];
const CASEWORK: DemoRole[] = ['clerk', 'supervisor', 'legal'];
const ALL: DemoRole[] = [...ROLES];

/** The role matrix of docs/roles.md: who may call each route. */
const MATRIX: { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: unknown; allowed: DemoRole[] }[] = [
  { method: 'GET', path: '/api/auth/me', allowed: ALL },
  { method: 'GET', path: '/api/checklist', allowed: ALL },
  { method: 'GET', path: '/api/procedures', allowed: ALL },
  { method: 'GET', path: '/api/rooms', allowed: ['admin', 'security', ...CASEWORK] },
  { method: 'GET', path: '/api/users', allowed: ['security'] },
  {
    method: 'POST',
    path: '/api/users',
    body: () => ({ username: `matrix-${Math.random().toString(36).slice(2, 8)}`, displayName: 'M', roles: ['legal'] }),
    allowed: ['security'],
  },
  { method: 'PATCH', path: '/api/users/{legal}', body: { displayName: '法制科' }, allowed: ['security'] },
  { method: 'POST', path: '/api/users/{reset-target}/reset-password', allowed: ['security'] },
  { method: 'GET', path: '/api/audit', allowed: ['auditor'] },
  { method: 'GET', path: '/api/audit/verify', allowed: ['auditor'] },
];

let server: TestServer;
const clients = {} as Record<DemoRole, ApiClient>;
const ids: Record<string, number> = {};
/** Every response body seen, to prove no password ever leaves the server except a fresh one-time one. */
const bodies: string[] = [];

async function call(client: ApiClient, method: string, path: string, body?: unknown) {
  const resolvedPath = path.replace(/\{([\w-]+)\}/g, (_, name: string) => String(ids[name]));
  const payload = typeof body === 'function' ? (body as () => unknown)() : body;
  const response = await client.request(method, resolvedPath, method === 'GET' ? undefined : (payload ?? {}));
  bodies.push(response.text);
  return response;
}

beforeAll(async () => {
  server = await startTestServer();
  for (const role of ROLES) {
    clients[role] = new ApiClient(server.url);
    await clients[role].login(role);
  }
  await clients.security.post('/api/users', { username: 'reset-target', displayName: 'R', roles: ['legal'] });
  const users = await clients.security.get('/api/users');
  for (const user of users.json as { id: number; username: string }[]) ids[user.username] = user.id;
});

afterAll(async () => {
  await server?.stop();
});

describe('role matrix, route by route', () => {
  it.each(MATRIX)('$method $path without a session → 401', async ({ method, path, body }) => {
    const response = await call(new ApiClient(server.url), method, path, body);
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it.each(MATRIX)('$method $path is allowed for exactly $allowed', async ({ method, path, body, allowed }) => {
    for (const role of ROLES) {
      const response = await call(clients[role], method, path, body);
      if (allowed.includes(role)) {
        expect([200, 201, 204], `${role} ${method} ${path}: ${response.text}`).toContain(response.status);
      } else {
        expect(response.status, `${role} ${method} ${path}`).toBe(403);
        expect(response.json.error.code).toBe('forbidden');
      }
    }
  });

  it('GET /api/health needs no session', async () => {
    const response = await new ApiClient(server.url).get('/api/health');
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'ok', version: '0.1.0', demo: true });
  });

  it('a clerk sees only the assigned rooms', async () => {
    const created = await call(clients.security, 'POST', '/api/users', {
      username: 'clerk-two',
      displayName: '书记员二',
      roles: ['clerk'],
      rooms: ['interview-1'],
    });
    expect(created.status).toBe(201);
    const clerk = new ApiClient(server.url);
    await clerk.login('clerk-two', created.json.initialPassword);
    const changed = await clerk.post('/api/auth/password', {
      currentPassword: created.json.initialPassword,
      newPassword: 'Quiet-river-2026',
    });
    expect(changed.status).toBe(204);
    const rooms = await clerk.get('/api/rooms');
    expect(rooms.json.map((r: { id: string }) => r.id)).toEqual(['interview-1']);
  });
});

describe('separation of the three administrators (三员分立)', () => {
  it('security cannot give itself the auditor role', async () => {
    const response = await call(clients.security, 'PATCH', `/api/users/{security}`, { roles: ['auditor'] });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('administrator_account');
  });

  it('security cannot hold two administrator roles', async () => {
    const response = await call(clients.security, 'PATCH', `/api/users/{security}`, { roles: ['security', 'auditor'] });
    expect(response.status).toBe(403);
  });

  it("security cannot reset the auditor's or the admin's password, nor disable them", async () => {
    for (const target of ['auditor', 'admin']) {
      const reset = await call(clients.security, 'POST', `/api/users/{${target}}/reset-password`);
      expect(reset.status).toBe(403);
      const disable = await call(clients.security, 'PATCH', `/api/users/{${target}}`, { disabled: true });
      expect(disable.status).toBe(403);
    }
    expect((await clients.auditor.get('/api/auth/me')).status).toBe(200);
  });

  it('security cannot grant an administrator role to anyone, or mix one with casework', async () => {
    for (const roles of [['admin'], ['auditor'], ['security'], ['legal', 'admin']]) {
      const created = await call(clients.security, 'POST', '/api/users', { username: 'grab', displayName: 'G', roles });
      expect(created.status, JSON.stringify(roles)).toBe(403);
      expect(created.json.error.code).toBe('administrator_role_forbidden');
      const promoted = await call(clients.security, 'PATCH', '/api/users/{clerk}', { roles });
      expect(promoted.status).toBe(403);
    }
    const me = await clients.clerk.get('/api/auth/me');
    expect(me.json.roles).toEqual(['clerk']);
  });

  it('admin and security cannot read the audit log; the auditor can, and it verifies', async () => {
    for (const role of ['admin', 'security'] as const) {
      expect((await clients[role].get('/api/audit')).status).toBe(403);
      expect((await clients[role].get('/api/audit/verify')).status).toBe(403);
    }
    const page = await clients.auditor.get('/api/audit?limit=500');
    const actions = (page.json.entries as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['auth.login', 'user.created', 'user.updated', 'room.seeded', 'server.started']));
    expect((await clients.auditor.get('/api/audit/verify')).json).toMatchObject({ ok: true, firstBadId: null });
  });

  it('none of the administrators does casework', async () => {
    for (const role of ['admin', 'security', 'auditor'] as const) {
      const me = await clients[role].get('/api/auth/me');
      expect(me.json.roles).toEqual([role]);
    }
  });
});

describe('login', () => {
  it('sets an httpOnly, SameSite=Strict session cookie (not Secure over plain HTTP)', async () => {
    const response = await new ApiClient(server.url).login('legal');
    const cookie = response.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^hr_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).not.toContain('Secure');
  });

  it('a wrong password is 401 and logged without the password', async () => {
    const response = await new ApiClient(server.url).post('/api/auth/login', { username: 'legal', password: 'Not-the-password-1' });
    expect(response.status).toBe(401);
    expect(response.json.error.code).toBe('invalid_credentials');
  });

  it('logout ends the session for the API', async () => {
    const client = new ApiClient(server.url);
    await client.login('supervisor');
    const cookie = client.sessionCookie!;
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    const reuse = await fetch(`${server.url}/api/auth/me`, { headers: { cookie } });
    expect(reuse.status).toBe(401);
  });

  it('words errors in the language the request prefers: Chinese for the web client', async () => {
    const zh = await new ApiClient(server.url).request('POST', '/api/auth/login', { username: 'legal', password: 'Not-the-password-1' }, {
      'accept-language': 'zh-CN,zh;q=0.9',
    });
    expect(zh.json.error).toEqual({ code: 'invalid_credentials', message: '用户名或密码错误，或账号已停用。' });
    const invalid = await new ApiClient(server.url).request('POST', '/api/auth/login', { username: 'legal' }, { 'accept-language': 'zh-CN' });
    expect(invalid.json.error.message).toBe('请求内容无效：password: 无效输入：期望 string，实际接收 undefined。');
    const en = await new ApiClient(server.url).request('GET', '/api/rooms', undefined, { 'accept-language': 'en' });
    expect(en.json.error.message).toBe('Not logged in, or the session has expired: log in again.');
  });

  it('rate-limits failed logins per user name with 429 and Retry-After', async () => {
    const client = new ApiClient(server.url);
    for (let i = 0; i < 5; i++) {
      expect((await client.post('/api/auth/login', { username: 'nobody', password: 'wrong' })).status).toBe(401);
    }
    const limited = await client.post('/api/auth/login', { username: 'nobody', password: 'wrong' });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('too_many_attempts');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('answers bad requests with the error shape and no stack', async () => {
    const client = new ApiClient(server.url);
    const missing = await client.post('/api/auth/login', { username: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toEqual({ code: 'invalid_request', message: expect.stringContaining('password') });
    const badJson = await client.request('POST', '/api/auth/login', undefined, { 'content-type': 'application/json' });
    expect(badJson.status).toBe(400);
    const raw = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } });
    const form = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=a&password=b' });
    expect(form.status).toBe(415);
    const big = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'a', password: 'x'.repeat(200_000) }),
    });
    expect(big.status).toBe(413);
    const unknown = await clients.legal.get('/api/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('not_found');
    for (const text of [missing.text, unknown.text, await big.text()]) expect(text).not.toMatch(/at .*\.ts:\d+/);
  });
});

describe('secrets', () => {
  it('no password appears in any response or log line', async () => {
    const oneTimePasswords = bodies
      .map((b) => (b.startsWith('{') ? (JSON.parse(b) as { initialPassword?: string }).initialPassword : undefined))
      .filter((p): p is string => typeof p === 'string');
    expect(oneTimePasswords.length).toBeGreaterThan(0);
    const secrets = [...ROLES.map((r) => `${r}-demo`), 'Quiet-river-2026', 'Not-the-password-1', ...oneTimePasswords];
    const responsesWithoutOneTime = bodies.filter((b) => !b.includes('initialPassword'));
    for (const secret of secrets) {
      for (const body of responsesWithoutOneTime) expect(body).not.toContain(secret);
      for (const line of server.output) expect(line).not.toContain(secret);
    }
    expect(bodies.join('\n')).not.toContain('scrypt$');
  });
});
