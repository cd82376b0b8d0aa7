// `npm run bench:live` (issue 5, "Benchmarks"): the live layer against the real server
// (`hearing-recorder serve` as a child, as the tests start it) with two simulated cameras, each from
// a simulator in a Node process of its own (so that its frame rendering is not counted in the
// server's event loop):
//  - h1-wide, in the hearing room where a session records: live mode, 1280×720 25 fps H.264 capped
//    at 2 Mbit/s (a test pattern: it uses far less), GOP 1 s, each frame carrying its capture time
//    as a burned-in time code. Latency, first frame and mark to wall are measured on it.
//  - i1-wide, in the interview room: loop mode, a 1280×720 25 fps 2 Mbit/s clip with grain (it uses
//    its bitrate), GOP 2 s, no time code. The fan-out is measured on it.
// The WebRTC viewers of the fan-out run in another process; the browser is Debian Chromium
// (test/e2e/browser.ts).
//
//  1. Glass-to-glass latency: the time code of each frame Chromium presents (requestVideoFrameCallback,
//     drawn to a canvas and decoded in the page) against the page's clock, over WebRTC and over FLV,
//     beside a baseline of ffmpeg decoding the simulator's RTSP directly (gray frames to a pipe,
//     decoded in Node against Date.now()).
//  2. Fan-out: N werift viewers of the main stream for S seconds: RTP sequence holes per viewer, the
//     worker's CPU and RSS (/proc of its pid, from DATA_DIR/children.pid), and the server's event-loop
//     p99 (prom-client, GET /metrics on loopback) beside the same window with no viewer.
//  3. Time to first frame after a tile mounts (grid: sub stream; enlarged: main stream).
//  4. Mark to wall: POST /api/sessions/:id/marks → the stage attribute changing on a wall in Chromium.
//
//   npm run bench:live -- [--viewers 50] [--seconds 60] [--quick] [--latency-seconds 20] [--opens 8] [--marks 20]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import { ffmpegBinary } from '../server/src/shared/ffmpeg/ffmpeg-binary.ts';
import { silentLogger } from '../server/src/shared/logger.ts';
import { createLoopClip } from '../server/src/simulator/media/loop-media-source.ts';
import { decodeTimeCode, timeCodeHeight } from '../server/src/simulator/media/time-code.ts';
import { launchBrowser, type TestBrowser } from '../test/e2e/browser.ts';
import { ApiClient, readDemoConfig, startTestServer, type TestServer } from '../test/helpers/server.ts';
import type { FromViewers, ToViewers, ViewerFigures, ViewersConfig } from './live-viewers.ts';
import type { SimulatorChildConfig, SimulatorChildReady } from './simulator-child.ts';
import { cleanups, runBench, verdict } from './common.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CAMERA_CREDS = { username: 'bench', password: 'bench-pass' };
const ROOM = 'hearing-1';
const CAMERA = 'h1-wide';
/** The fan-out's camera (loop mode), in a room with no session: it is not on the wall. */
const FAN_ROOM = 'interview-1';
const FAN_CAMERA = 'i1-wide';
/** The simulator's live source (LiveMediaSource defaults): main stream and GOP. */
const MAIN = { width: 1280, height: 720, fps: 25, gopMs: 1000, mbps: 2 };
const FAN_CLIP = { seconds: 20, width: 1280, height: 720, fps: 25, bitrate: 2_000_000 };
const TARGETS = { webrtcP50Ms: 250, webrtcP95Ms: 400, flvP50Ms: 1500, workerCpuPct: 50, firstFrameSlackMs: 300, markP50Ms: 200, markP95Ms: 200 };
/** Event-loop p99 "unchanged within noise": at most this much above the no-viewer window, in ms or in share. */
const EL_NOISE = { ms: 5, share: 0.25 };
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    viewers: { type: 'string' },
    seconds: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'latency-seconds': { type: 'string' },
    opens: { type: 'string' },
    marks: { type: 'string' },
    address: { type: 'string', default: '127.0.252.11' },
    'port-base': { type: 'string', default: '28000' },
  },
  strict: true,
});
const positiveInt = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`--${name} must be a positive integer`);
  return n;
};
const QUICK = args.quick!;
const VIEWERS = positiveInt('viewers', args.viewers, QUICK ? 10 : 50);
const SECONDS = positiveInt('seconds', args.seconds, QUICK ? 15 : 60);
const LATENCY_SECONDS = positiveInt('latency-seconds', args['latency-seconds'], QUICK ? 8 : 20);
const OPENS = positiveInt('opens', args.opens, QUICK ? 3 : 8);
const MARKS = positiveInt('marks', args.marks, QUICK ? 6 : 20);
const PORT_BASE = positiveInt('port-base', args['port-base'], 28000);
if (!/^127\.\d+\.\d+\.\d+$/.test(args.address!)) throw new TypeError('--address must be a 127.x.y.z loopback address');

/** Registers a child process to be stopped (SIGTERM, then SIGKILL after 5 s) at cleanup. */
function reap(proc: ChildProcess): void {
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  cleanups.push(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  });
}

const step = (text: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);

// ---------------------------------------------------------------------------------------------
// /proc sampling

interface ProcSample {
  cpuS: number;
  rssKb: number;
}

function readProc(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    const cpuS = (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return { cpuS, rssKb: m ? Number(m[1]) : 0 };
  } catch {
    return null;
  }
}

/** UDP counters of the whole machine (/proc/net/snmp): datagrams dropped for a full receive buffer, and all receive errors. */
function udpErrors(): { rcvbuf: number; inErrors: number } {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/).map(Number);
    return { rcvbuf: values[names.indexOf('RcvbufErrors')] ?? NaN, inErrors: values[names.indexOf('InErrors')] ?? NaN };
  } catch {
    return { rcvbuf: NaN, inErrors: NaN };
  }
}

/** Pids whose parent is `ppid` (the worker's Opus transcoder, for instance). */
function childrenOf(ppid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** CPU seconds and RSS peak of a set of pids over a window, sampled every second (pids may come and go). */
class Sampler {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  rssMaxKb = 0;
  private t0 = 0;

  constructor(private readonly pids: () => number[]) {}

  start(): void {
    this.t0 = performance.now();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 1000);
  }

  /** A pid seen at the start counts from there; one born later counts from its birth. */
  private sample(initial: boolean): void {
    let rss = 0;
    for (const pid of this.pids()) {
      const s = readProc(pid);
      if (!s) continue;
      if (!this.first.has(pid)) this.first.set(pid, initial ? s.cpuS : 0);
      this.last.set(pid, s.cpuS);
      rss += s.rssKb;
    }
    this.rssMaxKb = Math.max(this.rssMaxKb, rss);
  }

  /** Takes a last sample and stops: CPU as % of one core over the window. */
  stop(): { cpuPct: number; rssMaxMb: number; wallS: number } {
    this.sample(false);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const wallS = (performance.now() - this.t0) / 1000;
    let cpu = 0;
    for (const [pid, last] of this.last) cpu += last - (this.first.get(pid) ?? 0);
    return { cpuPct: (100 * cpu) / wallS, rssMaxMb: this.rssMaxKb / 1024, wallS };
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics

const quantile = (values: number[], q: number): number => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
};
const f = (v: number, d = 0): string => (Number.isFinite(v) ? v.toFixed(d) : '—');

// ---------------------------------------------------------------------------------------------
// Simulator, server, session

/** The address of simulator `n` (0, 1): the next loopback address after --address. */
const simAddress = (n: number): string => args.address!.replace(/\d+$/, (last) => String(Number(last) + n));

async function loopClip(): Promise<string> {
  const dir = join(tmpdir(), 'hearing-recorder-bench');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `loop-${FAN_CLIP.width}x${FAN_CLIP.height}p${FAN_CLIP.fps}-${FAN_CLIP.bitrate / 1e6}M-aac-${FAN_CLIP.seconds}s.mp4`);
  if (existsSync(file)) return file;
  step(`creating the loop clip ${file} (once; takes a minute)…`);
  const tmp = join(dir, `.loop-${process.pid}.mp4`);
  cleanups.push(() => rm(tmp, { force: true }));
  await createLoopClip(tmp, { ...FAN_CLIP, sub: null, log: silentLogger() });
  await rename(tmp, file);
  return file;
}

/** Simulator `n` in a child process: n = 0 live (time code), n = 1 looping `loop`. */
async function startSimulator(n: number, loop?: string): Promise<SimulatorChildReady> {
  const config: SimulatorChildConfig = {
    cameras: 1,
    firstAddress: simAddress(n),
    onvifBasePort: PORT_BASE + n,
    rtspBasePort: PORT_BASE + 300 + n,
    discoveryPort: PORT_BASE + 299 - n,
    ...CAMERA_CREDS,
    ...(loop ? { loop } : {}),
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'simulator-child.ts'), JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  reap(proc);
  const lines = createInterface({ input: proc.stdout! });
  return new Promise<SimulatorChildReady>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('simulator did not start within 60 s')), 60_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        res(JSON.parse(line) as SimulatorChildReady);
      } catch (err) {
        rej(err as Error);
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`simulator exited (${signal ?? `code ${code}`}) before it was ready`));
    });
  });
}

/** The demo configuration with two rooms of one camera each, pointed at the simulator children; no built-in simulator. */
function writeConfig(dir: string): string {
  const demo = readDemoConfig() as Record<string, unknown> & { cameras: { id: string; name: string }[]; rooms: { id: string }[] };
  delete demo.simulator;
  const camera = (id: string, n: number) => ({
    id,
    name: demo.cameras.find((c) => c.id === id)!.name,
    onvif: { url: `http://${simAddress(n)}:${PORT_BASE + n}/onvif/device_service`, ...CAMERA_CREDS },
  });
  const room = (id: string, cameraId: string) => ({ ...demo.rooms.find((r) => r.id === id)!, cameras: [{ camera: cameraId, role: '全景' }] });
  const config = {
    ...demo,
    cameras: [camera(CAMERA, 0), camera(FAN_CAMERA, 1)],
    rooms: [room(ROOM, CAMERA), room(FAN_ROOM, FAN_CAMERA)],
    mediaServer: { rtmpPort: 0 },
  };
  const file = join(dir, 'bench-live.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

async function poll<T>(read: () => Promise<T | null> | T | null, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error(`${what} not seen within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** The WebRTC worker's pid, from the server's child registry (DATA_DIR/children.pid). */
function workerPid(server: TestServer): number | null {
  for (const line of readFileSync(join(server.dataDir, 'children.pid'), 'utf8').split('\n').filter(Boolean)) {
    const pid = Number(line.split(' ')[0]);
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('webrtc-worker.ts')) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Event-loop p99 and max (ms) of the server since the last call (prom-client resets its histogram on each scrape). */
async function eventLoop(server: TestServer): Promise<{ p99: number; max: number; mean: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (name: string): number => {
    const m = new RegExp(`^hr_nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    return m ? 1000 * Number(m[1]) : NaN;
  };
  return { p99: read('p99'), max: read('max'), mean: read('mean') };
}

let clientIds = 0;
const nextClientId = () => `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`;

// ---------------------------------------------------------------------------------------------
// In the page: the time code of presented frames, each tile's first frame, and stage changes.

/**
 * An init script (plain JavaScript in a string, so no transpiler helper lands in the page). For each
 * <video> inside a live tile: the instant it mounted and the instant its first frame was presented;
 * while `__bench.sampling` names the tile, each presented frame's time code (a port of decodeTimeCode
 * in server/src/simulator/media/time-code.ts, as in test/e2e/wall.e2e.test.ts) beside the frame's
 * expected display time on the page's clock. Stage changes on the wall are timestamped as they land.
 */
const PAGE_SCRIPT = `(() => {
  const B = (window.__bench = { tiles: [], sampling: null, stages: [], pcs: [] });
  // Keeps each peer connection the page makes, to read its receivers' stats (nothing else changes).
  const Native = window.RTCPeerConnection;
  if (Native) window.RTCPeerConnection = class extends Native { constructor(...a) { super(...a); B.pcs.push(this); } };
  // Totals of the inbound RTP stats of the peer that feeds the tile's <video>, per kind.
  B.rtcStats = async (testId) => {
    const video = document.querySelector('[data-testid="' + testId + '"] video');
    const stream = video && video.srcObject;
    const track = stream && stream.getVideoTracks ? stream.getVideoTracks()[0] : null;
    if (!track) return null;
    for (const pc of B.pcs) {
      if (!pc.getReceivers().some((r) => r.track === track)) continue;
      const out = {};
      (await pc.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        out[r.kind] = { jbDelay: r.jitterBufferDelay || 0, jbCount: r.jitterBufferEmittedCount || 0, jbTarget: r.jitterBufferTargetDelay || 0, packets: r.packetsReceived || 0, lost: r.packetsLost || 0, frames: r.framesDecoded || 0, decodeS: r.totalDecodeTime || 0 };
      });
      return out;
    }
    return null;
  };
  const TOTAL = 2 + 44 + 8 + 2;
  function decode(video, ctx, canvas) {
    const width = video.videoWidth;
    if (!width) return null;
    const bs = Math.max(2, Math.floor(width / 80));
    const rows = 2 * bs;
    if (canvas.width !== width || canvas.height !== rows) { canvas.width = width; canvas.height = rows; }
    ctx.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
    const rgba = ctx.getImageData(0, 0, width, rows).data;
    const inset = Math.max(0, Math.floor(bs / 4));
    const bits = [];
    for (let b = 0; b < TOTAL; b++) {
      let sum = 0, n = 0;
      for (let y = inset; y < rows - inset; y++) {
        for (let x = inset; x < bs - inset; x++) {
          const p = 4 * (y * width + b * bs + x);
          sum += 16 + (65.481 * rgba[p] + 128.553 * rgba[p + 1] + 24.966 * rgba[p + 2]) / 255;
          n++;
        }
      }
      bits.push(sum / n >= (16 + 235) / 2 ? 1 : 0);
    }
    if (bits[0] !== 1 || bits[1] !== 0 || bits[TOTAL - 2] !== 0 || bits[TOTAL - 1] !== 1) return null;
    let value = 0;
    for (let i = 0; i < 44; i++) value = value * 2 + bits[2 + i];
    let crcGiven = 0;
    for (let i = 0; i < 8; i++) crcGiven = (crcGiven << 1) | bits[46 + i];
    let crc = 0;
    for (let i = 5; i >= 0; i--) {
      crc ^= Math.floor(value / 2 ** (8 * i)) & 0xff;
      for (let k = 0; k < 8; k++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
    return crc === crcGiven ? value : null;
  }
  function track(video) {
    if (video.__benchTracked) return;
    video.__benchTracked = true;
    const tile = video.closest('[data-testid^="live-"]');
    const rec = { id: tile ? tile.getAttribute('data-testid') : null, stream: tile ? tile.getAttribute('data-stream') : null, mountedAt: Date.now(), firstFrameAt: null, transport: null };
    B.tiles.push(rec);
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const onFrame = (now, meta) => {
      const at = Date.now();
      if (rec.firstFrameAt === null) { rec.firstFrameAt = at; rec.transport = tile ? tile.getAttribute('data-transport') : null; }
      const s = B.sampling;
      if (s && s.id === rec.id) {
        const value = decode(video, ctx, canvas);
        if (value === null) s.bad++;
        else s.samples.push([value, performance.timeOrigin + meta.expectedDisplayTime, at, tile.getAttribute('data-transport'), video.videoWidth]);
      }
      if (video.isConnected) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  let lastStage = null;
  new MutationObserver(() => {
    for (const v of document.querySelectorAll('[data-testid^="live-"] video')) track(v);
    const stage = document.querySelector('[data-testid^="wall-stage-"]');
    const item = stage ? stage.getAttribute('data-item') : null;
    if (item !== lastStage) { lastStage = item; B.stages.push([item, Date.now()]); }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-item'] });
})()`;

interface TileRecord {
  id: string | null;
  stream: string | null;
  mountedAt: number;
  firstFrameAt: number | null;
  transport: string | null;
}

async function openWall(browser: TestBrowser, server: TestServer): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (e) => step(`  page error: ${e.message}`));
  await page.goto(`${server.url}/wall`);
  await page.locator(`[data-testid="login-username"], [data-testid="wall-room-${ROOM}"]`).first().waitFor();
  if (await page.getByTestId('login-username').isVisible()) {
    await page.getByTestId('login-username').fill('supervisor');
    await page.getByTestId('login-password').fill('supervisor-demo');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${server.url}/wall`);
  }
  await page.getByTestId(`wall-room-${ROOM}`).waitFor();
  return page;
}

async function waitForTile(page: Page, stream: 'main' | 'sub', transport: 'webrtc' | 'flv', timeoutMs = 30_000): Promise<void> {
  await page.waitForSelector(`[data-testid="live-${CAMERA}"][data-stream="${stream}"][data-transport="${transport}"][data-status="playing"]`, { timeout: timeoutMs });
}

// ---------------------------------------------------------------------------------------------
// 1. Glass-to-glass latency

interface RtcKindStats {
  jbDelay: number;
  jbCount: number;
  jbTarget: number;
  packets: number;
  lost: number;
  frames: number;
  decodeS: number;
}
type RtcStats = { video?: RtcKindStats; audio?: RtcKindStats } | null;

interface Latency {
  samples: number[];
  /** Chromium's inbound-rtp stats over the window (WebRTC only): avg jitter-buffer delay per kind, ms. */
  jitterMs?: { video: number; audio: number; audioPackets: number; videoDecodeMs: number };
  bad: number;
  width: number | null;
  /** Presented-frame latency read at the rVFC callback (Date.now) instead of expectedDisplayTime, p50. */
  callbackP50: number;
}

async function sampleLatency(page: Page, seconds: number): Promise<Latency> {
  const statsOf = () => page.evaluate(`window.__bench.rtcStats(${JSON.stringify(`live-${CAMERA}`)})`) as Promise<RtcStats>;
  const before = await statsOf();
  await page.evaluate(`window.__bench.sampling = { id: ${JSON.stringify(`live-${CAMERA}`)}, samples: [], bad: 0 }`);
  await sleep(seconds * 1000);
  const after = await statsOf();
  const avg = (k: 'video' | 'audio', a = after?.[k], b = before?.[k]) =>
    a && b && a.jbCount > b.jbCount ? (1000 * (a.jbDelay - b.jbDelay)) / (a.jbCount - b.jbCount) : NaN;
  const jitterMs =
    before && after
      ? {
          video: avg('video'),
          audio: avg('audio'),
          audioPackets: (after.audio?.packets ?? 0) - (before.audio?.packets ?? 0),
          videoDecodeMs:
            after.video && before.video && after.video.frames > before.video.frames
              ? (1000 * (after.video.decodeS - before.video.decodeS)) / (after.video.frames - before.video.frames)
              : NaN,
        }
      : undefined;
  const s = (await page.evaluate('(() => { const s = window.__bench.sampling; window.__bench.sampling = null; return s; })()')) as {
    samples: [number, number, number, string, number][];
    bad: number;
  };
  return {
    ...(jitterMs ? { jitterMs } : {}),
    samples: s.samples.map(([value, shown]) => shown - value),
    bad: s.bad,
    width: s.samples[0]?.[4] ?? null,
    callbackP50: quantile(s.samples.map(([value, , at]) => at - value), 0.5),
  };
}

/** ffmpeg pulls the simulator's RTSP and decodes to gray frames (the time-code rows only) on a pipe; Node decodes each. */
async function rtspBaseline(rtspUrl: string, seconds: number): Promise<Latency> {
  const url = new URL(rtspUrl);
  url.username = CAMERA_CREDS.username;
  url.password = CAMERA_CREDS.password;
  const rows = timeCodeHeight(MAIN.width);
  const proc = spawn(
    ffmpegBinary().path,
    [
      '-hide_banner', '-nostats', '-nostdin', '-loglevel', 'error',
      '-fflags', 'nobuffer', '-flags', 'low_delay', '-analyzeduration', '1000000',
      '-rtsp_transport', 'tcp', '-i', url.toString(),
      // passthrough: each decoded frame once (the rawvideo muxer would duplicate frames to fill timestamp gaps).
      '-an', '-vf', `crop=${MAIN.width}:${rows}:0:0`, '-fps_mode', 'passthrough', '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  reap(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  const frameBytes = MAIN.width * rows;
  const samples: number[] = [];
  let bad = 0;
  let pending: Buffer = Buffer.alloc(0);
  let started = 0;
  proc.stdout!.on('data', (chunk: Buffer) => {
    const now = Date.now();
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= frameBytes) {
      const frame = pending.subarray(0, frameBytes);
      pending = pending.subarray(frameBytes);
      // The first three seconds are the connection and what ffmpeg buffered while probing: not the steady state.
      if (!started) started = now;
      if (now - started < 3000) continue;
      const value = decodeTimeCode(new Uint8Array(frame.buffer, frame.byteOffset, frame.length), MAIN.width, rows);
      if (value === null) bad++;
      else samples.push(now - value);
    }
  });
  await poll(() => (started ? true : null), 20_000, 'a frame from ffmpeg on RTSP').catch(() => undefined);
  await sleep((seconds + 3) * 1000);
  proc.kill('SIGTERM');
  if (samples.length === 0) step(`  RTSP baseline decoded nothing: ${stderr.trim().slice(-400)}`);
  return { samples, bad, width: samples.length ? MAIN.width : null, callbackP50: NaN };
}

// ---------------------------------------------------------------------------------------------
// 2. Fan-out

interface FanOut {
  connected: number;
  failed: string[];
  connectMs: number;
  windowS: number;
  viewers: ViewerFigures[];
  worker: { cpuPct: number; rssMaxMb: number };
  workerChildren: { cpuPct: number; rssMaxMb: number };
  server: { cpuPct: number; rssMaxMb: number };
  viewersProc: { cpuPct: number };
  eventLoop: { p99: number; max: number; mean: number };
  idle: { eventLoop: { p99: number; max: number; mean: number }; worker: { cpuPct: number; rssMaxMb: number }; server: { cpuPct: number } };
  idleAfter: { eventLoop: { p99: number; max: number; mean: number } };
  /** Machine-wide UDP receive-buffer drops during the window (other engineers' tests count too). */
  udpDrops: { rcvbuf: number; inErrors: number };
}

async function fanOut(server: TestServer, supervisorCookie: string, viewers: number, seconds: number): Promise<FanOut> {
  const worker = await poll(() => workerPid(server), 30_000, 'the WebRTC worker pid');
  const serverPid = server.process.pid!;

  step(`fan-out: no viewers for ${seconds} s (event-loop baseline)…`);
  await eventLoop(server);
  const idleWorker = new Sampler(() => [worker]);
  const idleServer = new Sampler(() => [serverPid]);
  idleWorker.start();
  idleServer.start();
  await sleep(seconds * 1000);
  const idleEl = await eventLoop(server);
  const idleW = idleWorker.stop();
  const idleS = idleServer.stop();

  step(`fan-out: starting ${viewers} werift viewers in a child process…`);
  const config: ViewersConfig = { url: server.url, cookie: supervisorCookie, viewers, cameraId: FAN_CAMERA, stream: 'main' };
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'live-viewers.ts'), JSON.stringify(config)], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  reap(proc);
  // The 50 receivers stand in for other people's PCs: on this one machine they must not take the
  // CPU from the server under test, or its event loop would measure the load generator.
  if (proc.pid) setPriority(proc.pid, 19);
  const messages: FromViewers[] = [];
  const waiters: (() => void)[] = [];
  proc.on('message', (m: FromViewers) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const next = async <T extends FromViewers['type']>(type: T, timeoutMs: number): Promise<Extract<FromViewers, { type: T }>> =>
    poll(() => (messages.find((m) => m.type === type) as Extract<FromViewers, { type: T }> | undefined) ?? null, timeoutMs, `viewers' ${type}`);
  const tell = (m: ToViewers) => proc.send(m);
  const connected = await next('connected', 60_000 + viewers * 3000);
  step(`  ${connected.viewers}/${viewers} connected in ${connected.ms} ms${connected.failed.length ? `; failed: ${connected.failed.slice(0, 3).join('; ')}` : ''}`);
  await sleep(2000); // every viewer past its first keyframe

  step(`fan-out: ${connected.viewers} viewers for ${seconds} s…`);
  tell({ type: 'reset' });
  await eventLoop(server);
  const w = new Sampler(() => [worker]);
  const wc = new Sampler(() => childrenOf(worker));
  const s = new Sampler(() => [serverPid]);
  const v = new Sampler(() => [proc.pid!]);
  const udp0 = udpErrors();
  for (const x of [w, wc, s, v]) x.start();
  await sleep(seconds * 1000);
  const udp1 = udpErrors();
  const el = await eventLoop(server);
  const [ws, wcs, ss, vs] = [w, wc, s, v].map((x) => x.stop());
  messages.length = 0;
  tell({ type: 'report' });
  const report = await next('report', 15_000);
  proc.kill('SIGTERM');
  await new Promise<void>((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));

  // The same window again with no viewer: how much the figure moves by itself on this machine.
  step(`fan-out: no viewers again for ${seconds} s (event-loop noise)…`);
  await sleep(3000);
  await eventLoop(server);
  await sleep(seconds * 1000);
  const idleAfterEl = await eventLoop(server);
  return {
    connected: connected.viewers,
    failed: connected.failed,
    connectMs: connected.ms,
    windowS: report.windowMs / 1000,
    viewers: report.viewers,
    worker: ws!,
    workerChildren: wcs!,
    server: ss!,
    viewersProc: vs!,
    eventLoop: el,
    idle: { eventLoop: idleEl, worker: idleW, server: idleS },
    udpDrops: { rcvbuf: udp1.rcvbuf - udp0.rcvbuf, inErrors: udp1.inErrors - udp0.inErrors },
    idleAfter: { eventLoop: idleAfterEl },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Time to first frame

interface FirstFrames {
  /** Grid tile with no other viewer of the sub stream: the server starts its sub-stream pull. */
  gridCold: number[];
  /** Grid tile while another wall watches the sub stream (the pull runs). */
  gridWarm: number[];
  enlarged: number[];
}

/**
 * Opens the wall `opens` times (a new document each time: its grid tile mounts), waits for the grid
 * tile's first frame, then enlarges the room (the main-stream tile mounts) and waits for that one's.
 * First with no other viewer, then with a second wall open.
 */
async function firstFrames(browser: TestBrowser, server: TestServer, opens: number): Promise<FirstFrames> {
  const out: FirstFrames = { gridCold: [], gridWarm: [], enlarged: [] };
  const page = await openWall(browser, server);
  let keeper: Page | null = null;
  for (const warm of [false, true]) {
    if (warm) {
      keeper = await openWall(browser, server);
      await waitForTile(keeper, 'sub', 'webrtc');
    }
    for (let i = 0; i < opens; i++) {
      await page.goto(`${server.url}/wall`);
      await waitForTile(page, 'sub', 'webrtc');
      await page.getByTestId(`wall-enlarge-${ROOM}`).click();
      await waitForTile(page, 'main', 'webrtc');
      // The player saw its first frame; this script's own frame callback may come one frame later.
      const tiles = await poll(
        async () => {
          const t = (await page.evaluate('window.__bench.tiles')) as TileRecord[];
          return t.filter((r) => r.id === `live-${CAMERA}` && r.firstFrameAt !== null).length >= 2 ? t : null;
        },
        5000,
        'both tiles first frames in the page',
      );
      for (const t of tiles) {
        if (t.id !== `live-${CAMERA}` || t.firstFrameAt === null) continue;
        (t.stream === 'sub' ? (warm ? out.gridWarm : out.gridCold) : out.enlarged).push(t.firstFrameAt - t.mountedAt);
      }
      step(`  open ${i + 1}/${opens}${warm ? ' (another wall open)' : ''}: ${tiles.map((t) => `${t.stream} ${t.firstFrameAt === null ? '—' : t.firstFrameAt - t.mountedAt} ms over ${t.transport}`).join(', ')}`);
      // Leave the page on a blank document so that the sub stream has no viewer before the next open.
      await page.goto('about:blank');
      await sleep(warm ? 1000 : 3000);
    }
  }
  await keeper?.close();
  await page.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. Mark to wall

async function markToWall(browser: TestBrowser, server: TestServer, clerk: ApiClient, sessionId: string, marks: number): Promise<{ wall: number[]; post: number[] }> {
  const page = await openWall(browser, server);
  const wall: number[] = [];
  const post: number[] = [];
  for (let i = 0; i < marks; i++) {
    const item = i % 2 === 0 ? 18 : 19; // items of the penalty-hearing procedure
    const t0 = Date.now();
    const r = await clerk.post(`/api/sessions/${sessionId}/marks`, { item, clientId: nextClientId(), clientTime: new Date(t0).toISOString() });
    post.push(Date.now() - t0);
    if (r.status !== 201) throw new Error(`mark ${item}: ${r.status} ${r.text}`);
    const at = await poll(
      async () => {
        const stages = (await page.evaluate('window.__bench.stages')) as [string | null, number][];
        const hit = stages.find(([it, when]) => it === String(item) && when >= t0 - 5);
        return hit ? hit[1] : null;
      },
      10_000,
      `stage ${item} on the wall`,
    );
    wall.push(at - t0);
    await sleep(300);
  }
  await page.close();
  return { wall, post };
}

// ---------------------------------------------------------------------------------------------
// Report

const row = (name: string, ...cols: string[]): string => `  ${name.padEnd(46)}${cols.map((c) => c.padStart(11)).join('')}`;

async function main(): Promise<number> {
  const ff = ffmpegBinary();
  process.stdout.write(
    [
      `hearing-recorder bench:live — ${CAMERA}: live simulator ${MAIN.width}×${MAIN.height} ${MAIN.fps} fps H.264 ≤ ${MAIN.mbps} Mbit/s, GOP ${MAIN.gopMs} ms, time code;`,
      `  ${FAN_CAMERA} (fan-out): loop clip ${FAN_CLIP.width}×${FAN_CLIP.height} ${FAN_CLIP.fps} fps ${FAN_CLIP.bitrate / 1e6} Mbit/s H.264 + AAC, GOP 2 s`,
      `  ${VIEWERS} viewers × ${SECONDS} s fan-out; latency ${LATENCY_SECONDS} s per transport; ${OPENS} opens; ${MARKS} marks${QUICK ? ' (--quick)' : ''}`,
      `  ${ff.versionLine} (${ff.source}); node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at start`,
      '',
    ].join('\n'),
  );

  const clip = await loopClip();
  step('starting the simulators (live mode; loop mode) in child processes…');
  const [sim] = await Promise.all([startSimulator(0), startSimulator(1, clip)]);
  const dir = await mkdtemp(join(tmpdir(), 'hr-bench-live-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  step('starting the server…');
  const server = await startTestServer({ dataDir: dir, env: { HR_CONFIG: writeConfig(dir), LOG_LEVEL: 'info' } });
  cleanups.push(async () => void (await server.stop()));

  const admin = new ApiClient(server.url);
  await admin.login('admin');
  await poll(
    async () => (((await admin.get('/api/cameras')).json as { id: string; state: string }[]).filter((c) => c.state === 'online').length === 2 ? true : null),
    60_000,
    'both cameras online',
  );
  const clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const created = await clerk.post('/api/sessions', {
    caseNumber: '秦应急罚〔2026〕99号',
    title: '听证（直播基准）',
    procedure: 'penalty-hearing',
    roomId: ROOM,
    participants: [{ name: '张主持', role: 'presiding' }],
  });
  if (created.status !== 201) throw new Error(`session: ${created.status} ${created.text}`);
  const sessionId = created.json.id as string;
  const started = await clerk.post(`/api/sessions/${sessionId}/start`);
  if (started.status !== 200) throw new Error(`session start: ${started.status} ${started.text}`);
  cleanups.push(async () => void (await clerk.post(`/api/sessions/${sessionId}/stop`).catch(() => undefined)));
  const supervisor = new ApiClient(server.url);
  await supervisor.login('supervisor');
  await sleep(3000);

  // 2. Fan-out first, with no browser running.
  const fan = await fanOut(server, supervisor.sessionCookie!, VIEWERS, SECONDS);
  await sleep(3000);

  // 1. Latency: the RTSP baseline, then Chromium over WebRTC and FLV on the enlarged (main) tile.
  step(`latency: ffmpeg on the simulator's RTSP for ${LATENCY_SECONDS} s…`);
  const base = await rtspBaseline(sim.main[0]!, LATENCY_SECONDS);
  step('starting Chromium…');
  const browser = await launchBrowser({ args: ['--autoplay-policy=no-user-gesture-required'] });
  cleanups.push(() => browser.close());
  await browser.context.addInitScript(PAGE_SCRIPT);
  const page = await openWall(browser, server);
  await page.getByTestId(`wall-enlarge-${ROOM}`).click();
  await waitForTile(page, 'main', 'webrtc');
  await sleep(2000);
  step(`latency: WebRTC (enlarged, main stream) for ${LATENCY_SECONDS} s…`);
  const webrtc = await sampleLatency(page, LATENCY_SECONDS);
  await page.getByTestId(`live-mode-${CAMERA}`).selectOption('flv');
  await waitForTile(page, 'main', 'flv', 30_000);
  await sleep(2000);
  step(`latency: FLV (enlarged, main stream) for ${LATENCY_SECONDS} s…`);
  const flv = await sampleLatency(page, LATENCY_SECONDS);
  await page.getByTestId(`live-mode-${CAMERA}`).selectOption('auto');
  await page.close();

  // 3. Time to first frame.
  step(`first frame: ${OPENS} opens of the wall (grid tile), each then enlarged; then ${OPENS} more with another wall open…`);
  const ff1 = await firstFrames(browser, server, OPENS);

  // 4. Mark to wall.
  step(`mark to wall: ${MARKS} marks…`);
  const marks = await markToWall(browser, server, clerk, sessionId, MARKS);

  // Report
  const lines: string[] = ['', '1. Glass-to-glass latency (time code on presented frames − clock; ms)'];
  lines.push(row('', 'frames', 'p50', 'p95', 'max', 'undecoded'));
  const latRow = (name: string, l: Latency) =>
    row(name, String(l.samples.length), f(quantile(l.samples, 0.5)), f(quantile(l.samples, 0.95)), f(Math.max(...l.samples)), String(l.bad));
  lines.push(latRow('ffmpeg on RTSP, baseline (Node Date.now)', base));
  lines.push(latRow(`Chromium WebRTC, main ${webrtc.width ?? '?'} wide`, webrtc));
  lines.push(latRow(`Chromium FLV (mpegts.js), main ${flv.width ?? '?'} wide`, flv));
  lines.push(row('  WebRTC / FLV p50 at the rVFC callback instead', '', f(webrtc.callbackP50), f(flv.callbackP50)));
  lines.push(row('  WebRTC p50 above the baseline', '', f(quantile(webrtc.samples, 0.5) - quantile(base.samples, 0.5))));
  if (webrtc.jitterMs) {
    const j = webrtc.jitterMs;
    lines.push(row('  Chromium WebRTC jitter buffer avg, video / audio', '', f(j.video), f(j.audio)));
    lines.push(row('  Chromium WebRTC decode per frame (ms); Opus packets', '', f(j.videoDecodeMs, 1), String(j.audioPackets)));
  }

  const lost = fan.viewers.map((v) => v.lost);
  const totalLost = lost.reduce((a, b) => a + b, 0);
  const totalPackets = fan.viewers.reduce((a, v) => a + v.packets, 0);
  const mbps = fan.viewers.map((v) => (8 * v.bytes) / 1e6 / fan.windowS);
  const idleP99 = Math.max(fan.idle.eventLoop.p99, fan.idleAfter.eventLoop.p99);
  const elLimit = idleP99 + Math.max(EL_NOISE.ms, EL_NOISE.share * idleP99);
  lines.push('', `2. Fan-out: ${fan.connected}/${VIEWERS} werift viewers of ${FAN_CAMERA}'s main stream for ${f(fan.windowS, 1)} s (connected in ${f(fan.connectMs / 1000, 1)} s)`);
  lines.push(row('', 'no viewers', 'viewers', 'none again'));
  lines.push(row('server event-loop p99 (ms, prom-client)', f(fan.idle.eventLoop.p99, 1), f(fan.eventLoop.p99, 1), f(fan.idleAfter.eventLoop.p99, 1)));
  lines.push(
    row(
      'server event-loop mean / max (ms)',
      `${f(fan.idle.eventLoop.mean, 1)}/${f(fan.idle.eventLoop.max, 0)}`,
      `${f(fan.eventLoop.mean, 1)}/${f(fan.eventLoop.max, 0)}`,
      `${f(fan.idleAfter.eventLoop.mean, 1)}/${f(fan.idleAfter.eventLoop.max, 0)}`,
    ),
  );
  lines.push(row('server CPU (% of one core)', f(fan.idle.server.cpuPct, 1), f(fan.server.cpuPct, 1)));
  lines.push(row('worker CPU (% of one core)', f(fan.idle.worker.cpuPct, 1), f(fan.worker.cpuPct, 1)));
  lines.push(row('worker RSS max (MB)', f(fan.idle.worker.rssMaxMb, 1), f(fan.worker.rssMaxMb, 1)));
  lines.push(row("worker's children (Opus transcoder) CPU % / RSS MB", '', `${f(fan.workerChildren.cpuPct, 1)}/${f(fan.workerChildren.rssMaxMb, 0)}`));
  lines.push(row('viewers process CPU (% core, not counted)', '', f(fan.viewersProc.cpuPct, 1)));
  lines.push(row('video Mbit/s per viewer, min / median', '', `${f(Math.min(...mbps), 2)}/${f(quantile(mbps, 0.5), 2)}`));
  lines.push(row('RTP packets received, all viewers', '', String(totalPackets)));
  lines.push(row('packets lost (holes never filled), all viewers', '', String(totalLost)));
  lines.push(row('viewers with any loss; worst viewer', '', `${lost.filter((l) => l > 0).length}; ${Math.max(0, ...lost)}`));
  lines.push(row('UDP receive-buffer drops / InErrors, whole machine', '', `${fan.udpDrops.rcvbuf}/${fan.udpDrops.inErrors}`));
  lines.push(row('holes seen on arrival / late packets, all', '', `${fan.viewers.reduce((a, v) => a + v.gapsSeen, 0)}/${fan.viewers.reduce((a, v) => a + v.late, 0)}`));
  lines.push(row('viewers ended by the server during the window', '', String(fan.viewers.filter((v) => v.ended).length)));

  const ttffTarget = MAIN.gopMs + TARGETS.firstFrameSlackMs;
  lines.push('', `3. Time to first frame after a tile mounts (ms), ${OPENS} opens; camera GOP ${MAIN.gopMs} ms (${MAIN.fps} frames)`);
  lines.push(row('', 'opens', 'p50', 'p95', 'max'));
  const ffRow = (name: string, v: number[]) => row(name, String(v.length), f(quantile(v, 0.5)), f(quantile(v, 0.95)), f(Math.max(...v)));
  lines.push(ffRow('grid tile, sub stream not pulled yet', ff1.gridCold));
  lines.push(ffRow('grid tile, sub stream watched by another wall', ff1.gridWarm));
  lines.push(ffRow('enlarged tile (main stream)', ff1.enlarged));

  lines.push('', `4. Mark to wall (ms), ${MARKS} marks: POST /marks → data-item changed on the wall in Chromium`);
  lines.push(row('', 'marks', 'p50', 'p95', 'max'));
  lines.push(row('mark → wall', String(marks.wall.length), f(quantile(marks.wall, 0.5)), f(quantile(marks.wall, 0.95)), f(Math.max(...marks.wall))));
  lines.push(row('  of which the POST round trip', '', f(quantile(marks.post, 0.5)), f(quantile(marks.post, 0.95)), f(Math.max(...marks.post))));
  lines.push('', `  load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} CPUs, shared: figures are noisy)`, '');

  const p = (l: number[], q: number) => quantile(l, q);
  const checks: [string, boolean][] = [
    [`WebRTC glass-to-glass p50 ${f(p(webrtc.samples, 0.5))} ms ≤ ${TARGETS.webrtcP50Ms} ms`, p(webrtc.samples, 0.5) <= TARGETS.webrtcP50Ms],
    [`WebRTC glass-to-glass p95 ${f(p(webrtc.samples, 0.95))} ms ≤ ${TARGETS.webrtcP95Ms} ms`, p(webrtc.samples, 0.95) <= TARGETS.webrtcP95Ms],
    [`FLV glass-to-glass p50 ${f(p(flv.samples, 0.5))} ms ≤ ${TARGETS.flvP50Ms} ms`, p(flv.samples, 0.5) <= TARGETS.flvP50Ms],
    [`fan-out: all ${VIEWERS} viewers connected (${fan.connected}) and none ended`, fan.connected === VIEWERS && fan.viewers.every((v) => !v.ended)],
    [`fan-out: no packet lost (${totalLost} of ${totalPackets + totalLost})`, totalLost === 0 && totalPackets > 0],
    [`fan-out: worker CPU ${f(fan.worker.cpuPct, 1)}% < ${TARGETS.workerCpuPct}% of one core`, fan.worker.cpuPct < TARGETS.workerCpuPct],
    [
      `fan-out: server event-loop p99 ${f(fan.eventLoop.p99, 1)} ms ≤ ${f(elLimit, 1)} ms (worse no-viewer window ${f(idleP99, 1)} ms + max(${EL_NOISE.ms} ms, ${100 * EL_NOISE.share}%))`,
      fan.eventLoop.p99 <= elLimit,
    ],
    [`first frame, grid tile (sub not pulled yet) p50 ${f(p(ff1.gridCold, 0.5))} ms ≤ GOP + ${TARGETS.firstFrameSlackMs} = ${ttffTarget} ms`, p(ff1.gridCold, 0.5) <= ttffTarget],
    [`first frame, grid tile (sub already pulled) p50 ${f(p(ff1.gridWarm, 0.5))} ms ≤ ${ttffTarget} ms`, p(ff1.gridWarm, 0.5) <= ttffTarget],
    [`first frame, enlarged tile p50 ${f(p(ff1.enlarged, 0.5))} ms ≤ ${ttffTarget} ms`, p(ff1.enlarged, 0.5) <= ttffTarget],
    [`mark to wall p50 ${f(p(marks.wall, 0.5))} ms ≤ ${TARGETS.markP50Ms} ms`, p(marks.wall, 0.5) <= TARGETS.markP50Ms],
    [`mark to wall p95 ${f(p(marks.wall, 0.95))} ms ≤ ${TARGETS.markP95Ms} ms`, p(marks.wall, 0.95) <= TARGETS.markP95Ms],
  ];
  return verdict(lines, checks) ? 0 : 1;
}

await runBench('bench:live', main);
