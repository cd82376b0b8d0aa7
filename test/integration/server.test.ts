import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../server/src/realtime/events.ts';
import { ApiClient, demoConfigWithoutSimulator, startTestServer, type TestServer } from '../helpers/server.ts';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function openSocket(url: string, cookie?: string): ClientSocket {
  return connect(url, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: cookie ? { cookie } : {},
  });
}

function firstOf<T>(socket: ClientSocket, event: 'server:hello' | 'connect_error' | 'disconnect'): Promise<T> {
  return new Promise((resolve) => socket.once(event as 'disconnect', resolve as () => void));
}

/** Without the simulator the demo's cameras are being probed or found unreachable. */
const NO_CAMERA = expect.stringMatching(/^(unknown|probing|unreachable)$/);

describe('the demo server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers health, login and rooms', async () => {
    const client = new ApiClient(server.url);
    expect((await client.get('/api/health')).json).toMatchObject({ status: 'ok', uptimeS: expect.any(Number) });
    await client.login('clerk');
    const rooms = await client.get('/api/rooms');
    expect(rooms.json).toEqual([
      {
        id: 'hearing-1',
        name: '听证室一',
        kind: 'hearing',
        cameras: [
          { id: 'h1-wide', name: '听证室一 全景', role: '全景', state: NO_CAMERA },
          { id: 'h1-presiding', name: '听证室一 主持人', role: '主持人', state: NO_CAMERA },
          { id: 'h1-party', name: '听证室一 当事人', role: '当事人', state: NO_CAMERA },
        ],
      },
      {
        id: 'interview-1',
        name: '询问室一',
        kind: 'interview',
        cameras: [
          { id: 'i1-wide', name: '询问室一 全景', role: '全景', state: NO_CAMERA },
          { id: 'i1-subject', name: '询问室一 被询问人', role: '被询问人', state: NO_CAMERA },
        ],
      },
    ]);
  });

  it('sends security headers with a CSP that allows blob: media and no upgrade to HTTPS', async () => {
    const response = await fetch(`${server.url}/api/health`);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("media-src 'self' blob:");
    expect(csp).toContain("worker-src 'self' blob:");
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('serves the client for its routes', async () => {
    for (const path of ['/', '/login', '/console', '/wall', '/replay', '/admin']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text()).toContain('<div id="app">');
    }
  });

  it('serves /metrics to loopback', async () => {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('hr_http_requests_total');
  });

  it('accepts a socket.io connection only with a valid session cookie, and drops it at logout', async () => {
    const anonymous = openSocket(server.url);
    expect((await firstOf<Error>(anonymous, 'connect_error')).message).toBe('unauthorized');
    anonymous.close();

    const forged = openSocket(server.url, 'hr_session=forged-token');
    expect((await firstOf<Error>(forged, 'connect_error')).message).toBe('unauthorized');
    forged.close();

    const client = new ApiClient(server.url);
    await client.login('supervisor');
    const socket = openSocket(server.url, client.sessionCookie);
    const hello = await firstOf<{ username: string; serverTime: string }>(socket, 'server:hello');
    expect(hello.username).toBe('supervisor');
    expect(hello.serverTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const before = Date.now();
    const serverTime = await socket.timeout(5000).emitWithAck('clock:ping', before);
    expect(serverTime).toBeGreaterThanOrEqual(before - 1000);
    const disconnected = firstOf<string>(socket, 'disconnect');
    await client.post('/api/auth/logout');
    expect(await disconnected).toBe('io server disconnect');
  });
});

describe('start and stop', () => {
  it('stops on SIGTERM and on SIGINT with exit code 0 and no handle left open', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await startTestServer();
      const client = new ApiClient(server.url);
      await client.login('clerk');
      const socket = openSocket(server.url, client.sessionCookie);
      await firstOf(socket, 'server:hello');
      // A keep-alive connection and a websocket are open while the server stops.
      server.process.kill(signal);
      expect(await server.stop()).toBe(0);
      expect(server.output.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      expect(server.output.filter((l) => l.includes('still open'))).toEqual([]);
      socket.close();
    }
  });

  it('seeds the configuration once: the database is the source of truth afterwards', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hr-seed-'));
    const first = await startTestServer({ dataDir });
    await first.stop();
    const configFile = join(dataDir, 'changed.yaml');
    const demo = readFileSync(demoConfigWithoutSimulator(dataDir), 'utf8');
    writeFileSync(
      configFile,
      demo
        .replace(/name: 听证室一\n/, 'name: Renamed in the file\n')
        .concat('  - id: hearing-2\n    name: 听证室二\n    kind: hearing\n'),
    );
    const second = await startTestServer({ dataDir, env: { HR_CONFIG: configFile } });
    const client = new ApiClient(second.url);
    await client.login('admin');
    const rooms = (await client.get('/api/rooms')).json as { id: string; name: string }[];
    expect(rooms.map((r) => [r.id, r.name])).toEqual([
      ['hearing-1', '听证室一'],
      ['interview-1', '询问室一'],
      ['hearing-2', '听证室二'],
    ]);
    await second.stop();
  });
});

describe('a production installation', () => {
  let server: TestServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hr-prod-'));
    const configFile = join(dataDir, 'production.yaml');
    writeFileSync(configFile, 'mode: production\n');
    server = await startTestServer({ dataDir, env: { HR_CONFIG: configFile } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('creates admin, security and auditor with passwords written once to a 0600 file', () => {
    const file = join(dataDir, 'initial-passwords');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.map((l) => l.split('\t')[0])).toEqual(['admin', 'security', 'auditor']);
  });

  it('forces a password change at first login before anything else', async () => {
    const password = readFileSync(join(dataDir, 'initial-passwords'), 'utf8').match(/^security\t(.+)$/m)![1]!;
    const client = new ApiClient(server.url);
    const login = await client.login('security', password);
    expect(login.json.mustChangePassword).toBe(true);
    const blocked = await client.get('/api/users');
    expect(blocked.status).toBe(403);
    expect(blocked.json.error.code).toBe('password_change_required');
    const weak = await client.post('/api/auth/password', { currentPassword: password, newPassword: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.json.error.code).toBe('weak_password');
    const wrong = await client.post('/api/auth/password', { currentPassword: 'nope', newPassword: 'Harbour-light-42' });
    expect(wrong.status).toBe(401);
    expect((await client.post('/api/auth/password', { currentPassword: password, newPassword: 'Harbour-light-42' })).status).toBe(204);
    expect((await client.get('/api/auth/me')).json.mustChangePassword).toBe(false);
    expect((await client.get('/api/users')).status).toBe(200);
  });

  it('has no demo users and says it is not a demo', async () => {
    expect((await new ApiClient(server.url).get('/api/health')).json.demo).toBe(false);
    const response = await new ApiClient(server.url).post('/api/auth/login', { username: 'clerk', password: 'clerk-demo' });
    expect(response.status).toBe(401);
  });
});

describe('TLS', () => {
  it('serves HTTPS with a Secure session cookie and HSTS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const configFile = join(dir, 'tls.yaml');
    writeFileSync(configFile, `mode: demo\nserver: { tls: { cert: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')} } }\n`);
    const server = await startTestServer({ env: { HR_CONFIG: configFile } });
    try {
      const { headers, status } = await new Promise<{ headers: Record<string, string | string[] | undefined>; status: number }>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: server.port, path: '/api/auth/login', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            resolve({ headers: res.headers, status: res.statusCode! });
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ username: 'legal', password: 'legal-demo' }));
      });
      expect(status).toBe(200);
      expect(String(headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; Secure/);
      expect(headers['strict-transport-security']).toContain('max-age=');
      expect(server.output.some((l) => l.includes('"url":"https://127.0.0.1:'))).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
