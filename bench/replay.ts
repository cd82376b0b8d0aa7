// `npm run bench:replay` (issue 7, "Benchmark"): on a synthesised 2-hour, 3-camera sealed session
// (bench/replay-synth.ts; cached under the OS temp dir, so only the first run builds it), measure
//   1. stage-to-first-frame in Chromium: legal staff click a stage on the replay page; from the click
//      to the first frame the main video presents (requestVideoFrameCallback), p50 / p95;
//   2. the export of all stages and cameras (POST /api/sessions/:id/exports until ready) as a multiple
//      of real time (2 h of media / wall time);
//   3. `hearing-recorder verify` on the unpacked package in MB/s beside `sha256sum` over the same
//      files in the same run.
// The server is the real `hearing-recorder serve` on loopback, on a copy of the cached DATA_DIR
// (recordings hard-linked: they are read-only evidence; database and keys copied).
//
//   npm run bench:replay -- [--seconds 7200] [--width 1280 --height 720 --bitrate 2000000] [--rounds 2] [--fresh]
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { unpackZip } from '../server/src/evidence/unpack.ts';
import { ffmpegBinary } from '../server/src/shared/ffmpeg/ffmpeg-binary.ts';
import { silentLogger } from '../server/src/shared/logger.ts';
import { createLoopClip } from '../server/src/simulator/media/loop-media-source.ts';
import { launchBrowser, type TestBrowser } from '../test/e2e/browser.ts';
import { poll } from '../test/e2e/page-time-code.ts';
import { ApiClient, CLI, demoConfigWithoutSimulator, REPO_ROOT, startTestServer, type TestServer } from '../test/helpers/server.ts';
import { SYNTH_CAMERAS, SYNTH_CASE_NUMBER, SYNTH_ITEMS, synthesiseSession, type SynthResult } from './replay-synth.ts';
import { cleanups, runBench, track, verdict } from './common.ts';

const run = promisify(execFile);
const TARGETS = { firstFrameP95Ms: 500, exportRealTime: 50, verifyVsSha256: 0.8 };
const MASTER = SYNTH_CAMERAS[0]!;
const CLIP_SECONDS = 20;
const log = silentLogger();

// ---------------------------------------------------------------------------------------------
// Options

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '7200' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    bitrate: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '2' },
    fresh: { type: 'boolean', default: false },
  },
  strict: true,
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`--${name} must be a positive integer`);
  return n;
};
const SECONDS = positiveInt('seconds', args.seconds);
const WIDTH = positiveInt('width', args.width);
const HEIGHT = positiveInt('height', args.height);
const BITRATE = positiveInt('bitrate', args.bitrate);
const ROUNDS = positiveInt('rounds', args.rounds);
if (SECONDS < 600) throw new TypeError('--seconds must be at least 600 (eight stages)');

const step = (line: string) => process.stderr.write(`${line}\n`);
const BENCH_DIR = join(tmpdir(), 'hearing-recorder-bench');

// ---------------------------------------------------------------------------------------------
// The synthesised session, cached

async function loopClip(): Promise<string> {
  await mkdir(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `loop-${WIDTH}x${HEIGHT}p25-${BITRATE}-aac-${CLIP_SECONDS}s.mp4`);
  if (existsSync(file)) return file;
  step(`creating the loop clip ${file} (once)…`);
  const tmp = join(BENCH_DIR, `.loop-${process.pid}.mp4`);
  cleanups.push(() => rm(tmp, { force: true }));
  await createLoopClip(tmp, { seconds: CLIP_SECONDS, width: WIDTH, height: HEIGHT, fps: 25, bitrate: BITRATE, sub: null, log });
  await rename(tmp, file);
  return file;
}

interface CachedSession extends SynthResult {
  dir: string;
  cached: boolean;
  buildS: number | null;
}

async function cachedSession(): Promise<CachedSession> {
  const dir = join(BENCH_DIR, `replay-${WIDTH}x${HEIGHT}-${BITRATE}-${SECONDS}s`);
  const marker = join(dir, 'bench-session.json');
  if (args.fresh) await rm(dir, { recursive: true, force: true });
  if (existsSync(marker)) {
    step(`using the cached synthesised session in ${dir} (--fresh rebuilds it)`);
    return { ...(JSON.parse(await readFile(marker, 'utf8')) as SynthResult), dir, cached: true, buildS: null };
  }
  const clip = await loopClip();
  const building = `${dir}.building-${process.pid}`;
  cleanups.push(() => rm(building, { recursive: true, force: true }));
  await mkdir(building, { recursive: true });
  const configDir = await mkdtemp(join(tmpdir(), 'hr-bench-config-'));
  cleanups.push(() => rm(configDir, { recursive: true, force: true }));
  step(`synthesising a ${SECONDS / 60}-minute, ${SYNTH_CAMERAS.length}-camera sealed session into ${dir} (once; later runs reuse it)…`);
  const t0 = performance.now();
  const result = await synthesiseSession({
    dataDir: building,
    configFile: demoConfigWithoutSimulator(configDir),
    clip,
    clipSeconds: CLIP_SECONDS,
    seconds: SECONDS,
    startedAt: new Date('2026-11-20T01:30:00.000Z'),
    log,
    progress: step,
    track,
  });
  const buildS = (performance.now() - t0) / 1000;
  await writeFile(join(building, 'bench-session.json'), JSON.stringify(result));
  await rename(building, dir);
  step(`  built in ${buildS.toFixed(0)} s`);
  return { ...result, dir, cached: false, buildS };
}

/** A working DATA_DIR for this run: recordings hard-linked (read-only evidence), the rest copied. */
async function runDataDir(cache: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hr-bench-replay-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const entry of await readdir(cache)) {
    if (entry === 'recordings') await run('cp', ['-al', join(cache, entry), join(dir, entry)]);
    else await cp(join(cache, entry), join(dir, entry), { recursive: true, preserveTimestamps: true });
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// 1. Stage to first frame

/**
 * Runs in the page before a stage is clicked: every video paused, then the click's timestamp and the
 * first frame the master presents after it (the click detaches the old stage's media at once).
 */
const ARM_JUMP = `async ([testId, stageId]) => {
  window.__jump = undefined;
  for (const v of document.querySelectorAll('video')) v.pause();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const video = document.querySelector('[data-testid="' + testId + '"] video');
  let clickedAt = null;
  document.querySelector('[data-testid="' + stageId + '"]').addEventListener('click', (e) => { clickedAt = e.timeStamp; }, { capture: true, once: true });
  // A frame of the stage opened before (a late seek) may still be presented: only one after the click counts.
  const onFrame = (now, meta) => {
    if (clickedAt === null) video.requestVideoFrameCallback(onFrame);
    else window.__jump = { clickedAt, presentedAt: meta.presentationTime, callbackAt: now };
  };
  video.requestVideoFrameCallback(onFrame);
}`;

interface Jump {
  item: number;
  ms: number;
  callbackMs: number;
  /** The page's wall clock right after the frame, minus the stage's mark. */
  offMarkMs: number | null;
}

async function stageJumps(server: TestServer, sessionId: string, stages: Map<number, number>): Promise<Jump[]> {
  const jumps: Jump[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh browser profile per round, so no stage is served from Chromium's cache.
    const browser: TestBrowser = await launchBrowser();
    const close = () => browser.close();
    cleanups.push(close);
    const page: Page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => step(`  page error: ${e.message}`));
    await page.goto(`${server.url}/login`);
    await page.getByTestId('login-username').fill('legal');
    await page.getByTestId('login-password').fill('legal-demo');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${server.url}/replay`);
    await page.getByTestId('filter-case').fill(SYNTH_CASE_NUMBER);
    await page.getByTestId('search-submit').click();
    await page.getByTestId(`open-${sessionId}`).click();
    await page.getByTestId(`stage-${SYNTH_ITEMS.at(-1)}`).waitFor();
    // The page opens the first stage paused: wait until the main video has a picture.
    // Polled with page.evaluate (the page's CSP forbids the eval waitForFunction uses); the timing itself is taken in the page.
    await poll(() => page.evaluate(`document.querySelector('[data-testid="camera-${MASTER}"] video')?.readyState >= 2 || null`) as Promise<true | null>, 30_000, 'a first picture');
    // Every stage once per round, in a stride that jumps back and forth across the two hours.
    for (let k = 0; k < SYNTH_ITEMS.length; k++) {
      const item = SYNTH_ITEMS[(k * 3 + round) % SYNTH_ITEMS.length]!;
      await page.evaluate(`(${ARM_JUMP})(${JSON.stringify([`camera-${MASTER}`, `stage-${item}`])})`);
      await page.getByTestId(`stage-${item}`).click();
      const r = await poll(() => page.evaluate('window.__jump ?? null') as Promise<{ clickedAt: number; presentedAt: number; callbackAt: number } | null>, 20_000, `the first frame of stage ${item}`);
      const wall = Number(await page.getByTestId('replay-clock').getAttribute('data-wall-ms'));
      const jump = { item, ms: r.presentedAt - r.clickedAt, callbackMs: r.callbackAt - r.clickedAt, offMarkMs: Number.isFinite(wall) && wall > 0 ? wall - stages.get(item)! : null };
      jumps.push(jump);
      step(`  stage ${item}: ${jump.ms.toFixed(0)} ms (clock ${jump.offMarkMs === null ? '?' : `${(jump.offMarkMs / 1000).toFixed(2)} s`} from the mark)`);
    }
    await close();
  }
  return jumps;
}

// ---------------------------------------------------------------------------------------------
// 2. Export, 3. verification

interface ExportResult {
  id: string;
  wallS: number;
  bytes: number;
  file: string;
}

async function exportAll(server: TestServer, legal: ApiClient, sessionId: string): Promise<ExportResult> {
  const t0 = performance.now();
  const created = await legal.post(`/api/sessions/${sessionId}/exports`, {});
  if (created.status !== 202) throw new Error(`export not accepted: ${created.status} ${created.text}`);
  const id = created.json.id as string;
  let lastShown = -1;
  for (;;) {
    const { json } = await legal.get(`/api/exports/${id}`);
    if (json.state === 'failed') throw new Error(`export failed: ${JSON.stringify(json)}`);
    if (json.state === 'ready') break;
    const pct = Math.floor((json.progress ?? 0) * 10);
    if (pct !== lastShown) step(`  export ${json.state} ${Math.round((json.progress ?? 0) * 100)}%`);
    lastShown = pct;
    // Polled: the ready state is seen within 100 ms of the server's, a small error on the minute or more an export takes.
    await new Promise((r) => setTimeout(r, 100));
  }
  const wallS = (performance.now() - t0) / 1000;
  const file = join(server.dataDir, 'exports', `${id}.zip`);
  return { id, wallS, bytes: (await stat(file)).size, file };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

/** Wall seconds, exit code and the tail of the output of a child process run to its end. */
function timed(cmd: string, argv: string[], cwd: string): Promise<{ s: number; code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const untrack = track(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      untrack();
      resolve({ s: (performance.now() - t0) / 1000, code, out });
    });
  });
}

// ---------------------------------------------------------------------------------------------

const quantile = (values: number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};
const f = (v: number, d = 1): string => v.toFixed(d);
const row = (name: string, a: string, b = '', c = ''): string => `  ${name.padEnd(52)}${a.padStart(12)}${b.padStart(12)}${c.padStart(10)}`;

async function main(): Promise<number> {
  if (!existsSync(join(REPO_ROOT, 'dist', 'client', 'index.html'))) throw new Error('the client is not built: run `npm run build` first');
  const session = await cachedSession();
  const dataDir = await runDataDir(session.dir);
  // No integrity scrub during the run: it would re-hash the whole session beside the measurements.
  const server = await startTestServer({ dataDir, demoOverrides: { evidence: { scrubIntervalS: 0 } } });
  cleanups.push(() => server.stop().then(() => undefined));
  const legal = new ApiClient(server.url);
  await legal.login('legal');
  const view = (await legal.get(`/api/sessions/${session.sessionId}`)).json as { state: string; stages: { item: number; from: string }[] };
  if (view.state !== 'sealed') throw new Error(`the synthesised session is ${view.state}, not sealed`);
  const stages = new Map(view.stages.map((s) => [s.item, Date.parse(s.from)]));
  const key = (await legal.get('/api/evidence/key')).json as { fingerprint: string };

  step(`1. stage to first frame: ${ROUNDS} round(s) of ${SYNTH_ITEMS.length} stage clicks in Chromium`);
  const jumps = await stageJumps(server, session.sessionId, stages);

  step('2. export of all stages and cameras');
  const exported = await exportAll(server, legal, session.sessionId);
  const work = await mkdtemp(join(tmpdir(), 'hr-bench-replay-package-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const pkg = join(work, 'package');
  await unpackZip(exported.file, pkg);
  await rm(exported.file, { force: true }); // the unpacked copy is what is measured; spare the disk
  const files = await listFiles(pkg);
  let bytes = 0;
  for (const file of files) bytes += (await stat(join(pkg, file))).size;

  step(`3. verification of ${files.length} files, ${f(bytes / 1e9, 2)} GB: sha256sum, hearing-recorder verify, sha256sum again`);
  const sha1 = await timed('sha256sum', files, pkg);
  const verify = await timed(process.execPath, [CLI, 'verify', pkg, '--key', key.fingerprint], REPO_ROOT);
  const sha2 = await timed('sha256sum', files, pkg);
  if (sha1.code !== 0 || sha2.code !== 0) throw new Error(`sha256sum failed: ${sha1.code === 0 ? sha2.out : sha1.out}`);
  if (verify.code !== 0) step(`  verify exited ${verify.code}:\n${verify.out}`);
  const mbs = (s: number) => bytes / 1e6 / s;
  const shaBest = Math.min(sha1.s, sha2.s);

  const ff = ffmpegBinary();
  const ms = jumps.map((j) => j.ms);
  const p50 = quantile(ms, 0.5);
  const p95 = quantile(ms, 0.95);
  const realTime = SECONDS / exported.wallS;
  const verifyRatio = mbs(verify.s) / mbs(shaBest);
  const offMark = jumps.filter((j) => j.offMarkMs === null || Math.abs(j.offMarkMs) > 2000);
  const lines = [
    '',
    `hearing-recorder bench:replay — synthesised ${f(SECONDS / 3600, 2)} h sealed session, ${SYNTH_CAMERAS.length} cameras, loop clip ${WIDTH}×${HEIGHT} 25 fps ${f(BITRATE / 1e6, 1)} Mbit/s H.264 + AAC, 2 s segments`,
    `  ${ff.versionLine} (${ff.source}); node ${process.version}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); server on ${server.url}`,
    `  session ${session.sessionId}: ${session.segments} segments, ${f(session.bytes / 1e9, 2)} GB; ${session.cached ? `cached in ${session.dir} (synthesised by an earlier run)` : `synthesised in ${f(session.buildS!, 0)} s into ${session.dir} (cached for later runs)`}`,
    '',
    `1. Stage to first frame in Chromium (ms): click on a stage → first frame the main video presents (rVFC presentationTime)`,
    row('', 'jumps', 'p50', 'p95'),
    row('stage click → first presented frame', String(ms.length), f(p50, 0), f(p95, 0)),
    row('  the same at the rVFC callback', '', f(quantile(jumps.map((j) => j.callbackMs), 0.5), 0), f(quantile(jumps.map((j) => j.callbackMs), 0.95), 0)),
    row('  max', '', f(Math.max(...ms), 0)),
    row('jumps whose clock was > 2 s off the mark', String(offMark.length)),
    '',
    `2. Export of all ${SYNTH_ITEMS.length} stages × ${SYNTH_CAMERAS.length} cameras (originals, working copies, manifest…), POST → ready`,
    row('', 'ours', 'real time', 'ratio'),
    row('wall time (s)', f(exported.wallS, 1), f(SECONDS, 0), `${f(realTime, 1)}×`),
    row('package size (GB); write MB/s', f(exported.bytes / 1e9, 2), f(exported.bytes / 1e6 / exported.wallS, 0)),
    '',
    `3. Verification of the unpacked package (${files.length} files, ${f(bytes / 1e9, 2)} GB), MB/s`,
    row('', 'ours', 'sha256sum', 'ratio'),
    row('hearing-recorder verify --key (node CLI) vs sha256sum', f(mbs(verify.s), 0), f(mbs(shaBest), 0), `${f(verifyRatio, 2)}×`),
    row('  sha256sum before / after verify (MB/s)', f(mbs(sha1.s), 0), f(mbs(sha2.s), 0)),
    row('  verify exit code', String(verify.code)),
    '',
    `  load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} CPUs, shared: figures are noisy)`,
    '',
  ];
  const checks: [string, boolean][] = [
    [`stage to first frame p95 ${f(p95, 0)} ms ≤ ${TARGETS.firstFrameP95Ms} ms (p50 ${f(p50, 0)} ms, ${ms.length} jumps)`, ms.length >= 10 && p95 <= TARGETS.firstFrameP95Ms],
    [`every jump opened its stage (clock within 2 s of the mark): ${ms.length - offMark.length}/${ms.length}`, offMark.length === 0],
    [`export ${f(realTime, 1)}× real time ≥ ${TARGETS.exportRealTime}×`, realTime >= TARGETS.exportRealTime],
    [`the package verifies with --key (exit ${verify.code})`, verify.code === 0],
    [`verify ${f(mbs(verify.s), 0)} MB/s ≥ ${TARGETS.verifyVsSha256}× sha256sum's ${f(mbs(shaBest), 0)} MB/s (${f(verifyRatio, 2)}×)`, verifyRatio >= TARGETS.verifyVsSha256],
  ];
  return verdict(lines, checks) ? 0 : 1;
}

await runBench('bench:replay', main);
