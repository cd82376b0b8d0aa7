import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(fileURLToPath(new URL('..', import.meta.url)), 'fixtures/gst-rtsp-server.py');

export interface GstRtspServer {
  port: number;
  /** Mount name → rtsp:// URL, e.g. urls.aac, urls.pcma. */
  urls: Record<string, string>;
  process: ChildProcess;
  output: string[];
  /** SIGTERM, SIGKILL after 3 s; resolves once the child is reaped. Safe to call twice. */
  stop(): Promise<void>;
}

export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts the GStreamer RTSP server fixture (/usr/bin/python3 + gst-rtsp-server) on a free loopback port. */
export async function startGstRtspServer(mounts: string[] = ['aac', 'pcma'], timeoutMs = 15_000): Promise<GstRtspServer> {
  const port = await freeLoopbackPort();
  // setpriv: the fixture dies with the test process even if vitest is killed.
  const child = spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '/usr/bin/python3', SCRIPT, String(port), ...mounts], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr! }).on('line', (l) => output.push(l));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`GStreamer RTSP server not ready in ${timeoutMs} ms: ${output.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as Record<string, string>);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`GStreamer RTSP server exited: ${output.join('\n')}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  let stopping: Promise<void> | null = null;
  return {
    port,
    urls,
    process: child,
    output,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(t);
        }
      })();
      return stopping;
    },
  };
}
