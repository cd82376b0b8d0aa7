import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(REPO_ROOT, 'server/bin/hearing-recorder.mjs');

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  /** Every line the server wrote to stdout and stderr so far. */
  output: string[];
  /** SIGTERM, then the exit code (null if killed by a signal). Removes the data dir unless kept. */
  stop(options?: { keepData?: boolean }): Promise<number | null>;
}

interface DemoConfig {
  simulator?: { firstAddress: string };
  cameras: { onvif?: { url: string }; enabled?: boolean }[];
  [key: string]: unknown;
}

export const readDemoConfig = () => parse(readFileSync(join(REPO_ROOT, 'config/default.yaml'), 'utf8')) as DemoConfig;

/**
 * The demo configuration without its simulated cameras, for tests that need rooms but no media: the
 * cameras then show as unreachable and no encoder runs.
 */
export function demoConfigWithoutSimulator(dir: string, overrides: Record<string, unknown> = {}): string {
  const demo = { ...readDemoConfig(), ...overrides } as DemoConfig;
  delete demo.simulator;
  const file = join(dir, 'demo-without-simulator.yaml');
  writeFileSync(file, stringify(demo));
  return file;
}

let subnetCounter = 0;

/**
 * The demo configuration with its simulated cameras moved to a loopback subnet of their own
 * (127.0.N.11…), so test servers running side by side never fight over addresses or ports.
 */
export function demoConfigOnOwnSubnet(dir: string, overrides: Record<string, unknown> = {}): string {
  const subnet = ((process.pid * 7 + subnetCounter++) % 240) + 10;
  const demo = { ...readDemoConfig(), ...overrides } as DemoConfig;
  demo.simulator!.firstAddress = demo.simulator!.firstAddress.replace(/^127\.0\.0\./, `127.0.${subnet}.`);
  for (const camera of demo.cameras) {
    if (camera.onvif) camera.onvif.url = camera.onvif.url.replace(/^http:\/\/127\.0\.0\./, `http://127.0.${subnet}.`);
  }
  const file = join(dir, 'demo-own-subnet.yaml');
  writeFileSync(file, stringify(demo));
  return file;
}

/**
 * Starts the real `hearing-recorder serve` as a child process on a random loopback port with a fresh
 * DATA_DIR, and resolves once it listens. The configuration is HR_CONFIG when given in env, else the
 * demo; the demo's simulated cameras run only with `simulator: true`.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    args?: string[];
    dataDir?: string;
    simulator?: boolean;
    /** Top-level keys replaced in the demo configuration. */
    demoOverrides?: Record<string, unknown>;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hr-test-'));
  const config =
    options.env?.HR_CONFIG ??
    (options.simulator ? demoConfigOnOwnSubnet(dataDir, options.demoOverrides) : demoConfigWithoutSimulator(dataDir, options.demoOverrides));
  const child = spawn(process.execPath, [CLI, 'serve', ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'debug', ...options.env, HR_CONFIG: config },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'listening' && entry.port) resolve(entry.port);
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output.join('\n')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    process: child,
    output,
    async stop(stopOptions = {}) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!stopOptions.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** A tiny cookie-keeping HTTP client for API tests. */
export class ApiClient {
  private cookie: string | undefined;
  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) this.cookie = setCookie.split(';')[0];
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, json: json as any, text };
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body?: unknown) => this.request('POST', path, body ?? {});
  patch = (path: string, body: unknown) => this.request('PATCH', path, body);

  async login(username: string, password = `${username}-demo`) {
    const response = await this.post('/api/auth/login', { username, password });
    if (response.status !== 200) throw new Error(`login ${username} failed: ${response.status} ${response.text}`);
    return response;
  }

  get sessionCookie(): string | undefined {
    return this.cookie;
  }
}
