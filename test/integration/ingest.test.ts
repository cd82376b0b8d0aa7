import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraIngest, type AudioLevel, type IngestGap, type Interruption, type SpoolSegment } from '../../server/src/ingest/camera-ingest.ts';
import { silentLogger } from '../../server/src/shared/logger.ts';
import { createLoopClip } from '../../server/src/simulator/media/loop-media-source.ts';
import { Simulator } from '../../server/src/simulator/simulator.ts';

// Subnet of this file: 127.0.0.60–62 (AAC cameras), 127.0.0.65 (G.711 camera).
const run = promisify(execFile);
const log = silentLogger();
/** Recording resumes within 2 s plus one GOP (1 s here) of the camera's return. */
const MAX_RESUME_MS = 2000 + 1000;
/** A 5 s outage, plus resuming, plus the last frames before it that ffmpeg's stop may lose. */
const MAX_GAP_MS = 5000 + MAX_RESUME_MS + 500;
const creds = { username: 'admin', password: 'Sim-Pass.1' };
let work: string;
let sim: Simulator;
let pcmaSim: Simulator;
const ingests: CameraIngest[] = [];

interface Collected {
  segments: SpoolSegment[];
  levels: AudioLevel[];
  /** When each level reached us (ms). */
  levelArrivals: number[];
  gaps: IngestGap[];
  interruptions: Interruption[];
  waiters: (() => void)[];
}
const got = new Map<string, Collected>();

function collect(ingest: CameraIngest): Collected {
  const c: Collected = { segments: [], levels: [], levelArrivals: [], gaps: [], interruptions: [], waiters: [] };
  const poke = () => c.waiters.splice(0).forEach((w) => w());
  ingest.on('segment', (s) => (c.segments.push(s), poke()));
  ingest.on('level', (l) => (c.levels.push(l), c.levelArrivals.push(Date.now()), poke()));
  ingest.on('gap', (g) => (c.gaps.push(g), poke()));
  ingest.on('interruption', (i) => (c.interruptions.push(i), poke()));
  got.set(ingest.cameraId, c);
  return c;
}

/** Resolves when `pred` holds, re-checked on every event of that camera (no sleeping). */
function until(c: Collected, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('condition not met in time')), timeoutMs);
    const check = () => {
      if (pred()) {
        clearTimeout(timer);
        resolve();
      } else c.waiters.push(check);
    };
    check();
  });
}

interface ProbedStream { codec_name: string; sample_rate?: string; nb_read_frames?: string }
async function probeStreams(file: string, countFrames = false): Promise<ProbedStream[]> {
  const out = await ffprobe([...(countFrames ? ['-count_frames'] : []), '-show_entries', 'stream=codec_name,sample_rate,nb_read_frames', '-of', 'json', file]);
  return (JSON.parse(out) as { streams: ProbedStream[] }).streams;
}

async function ffprobe(args: string[]): Promise<string> {
  return (await run('ffprobe', ['-v', 'error', ...args], { timeout: 60_000, maxBuffer: 64 << 20 })).stdout;
}

async function startIngest(cameraId: string, url: string): Promise<Collected> {
  const ingest = new CameraIngest({ cameraId, rtspUrl: url, credentials: creds, spoolDir: join(work, 'spool'), log });
  ingests.push(ingest);
  const c = collect(ingest);
  await ingest.start();
  return c;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ingest-'));
  const clip = join(work, 'clip.mp4');
  await createLoopClip(clip, { seconds: 1, width: 640, height: 360, bitrate: 800_000, sub: null, log });
  sim = await Simulator.start({ cameras: 2, firstAddress: '127.0.0.60', onvifBasePort: 18600, rtspBasePort: 18660, discoveryPort: 13760,
    ...creds, audio: 'aac', loop: clip, log });
  pcmaSim = await Simulator.start({ cameras: 1, firstAddress: '127.0.0.65', onvifBasePort: 18605, rtspBasePort: 18665, discoveryPort: 13765,
    ...creds, audio: 'pcma', loop: clip, log });
  await startIngest('cam-a', sim.info[0]!.rtsp.main);
  await startIngest('cam-b', sim.info[1]!.rtsp.main);
  await startIngest('cam-g711', pcmaSim.info[0]!.rtsp.main);
}, 60_000);

afterAll(async () => {
  const pids = ingests.map((i) => i.pid).filter((p): p is number => p !== undefined);
  await Promise.all(ingests.map((i) => i.close()));
  await Promise.all(ingests.map((i) => i.close())); // idempotent
  await sim?.close();
  await pcmaSim?.close();
  for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
  rmSync(work, { recursive: true, force: true });
});

describe('CameraIngest (loop-mode simulator, system ffmpeg)', () => {
  it('writes ~2 s H.264+AAC segments in order whose hashes match and whose concatenation is one gapless stream', async () => {
    for (const id of ['cam-a', 'cam-b']) await until(got.get(id)!, () => got.get(id)!.segments.length >= 6);
    for (const id of ['cam-a', 'cam-b']) {
      const segs = got.get(id)!.segments.slice(0, 6);
      // Sequence and media time: consecutive, each about 2 s (the first may be longer: it waits for the cut).
      for (let i = 1; i < segs.length; i++) {
        expect(segs[i]!.seq).toBe(segs[i - 1]!.seq + 1);
        expect(segs[i]!.mediaStartS).toBeCloseTo(segs[i - 1]!.mediaEndS, 3);
        expect(segs[i]!.startedAt).toBe(segs[i - 1]!.endedAt);
      }
      for (const s of segs.slice(1, -1)) expect(s.mediaEndS - s.mediaStartS).toBeCloseTo(2, 1);
      const bufs: Buffer[] = [];
      let frameSum = 0;
      let firstFrames = 0;
      for (const s of segs) {
        const buf = readFileSync(s.file);
        bufs.push(buf);
        expect(buf.length).toBe(s.bytes);
        expect(createHash('sha256').update(buf).digest('hex')).toBe(s.sha256);
        expect(s.timeSource).toBe('rtcp');
        const streams = await probeStreams(s.file, true);
        expect(streams.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
        const frames = Number(streams.find((x) => x.codec_name === 'h264')!.nb_read_frames);
        if (s === segs[0]) firstFrames = frames;
        frameSum += frames;
        // Wall-clock span equals the media span (one clock for both within a connection).
        expect(Date.parse(s.endedAt) - Date.parse(s.startedAt)).toBeCloseTo((s.mediaEndS - s.mediaStartS) * 1000, -1);
      }
      // Segment 0 holds the simulator's start (its loop timer may skip frames while 3 ffmpegs start):
      // the gapless check runs over segments 1–5, whose frames ffmpeg received at a steady 25 fps.
      frameSum -= firstFrames;
      const cat = join(work, `${id}-cat.ts`);
      writeFileSync(cat, Buffer.concat(bufs.slice(1)));
      const packets = (JSON.parse(await ffprobe(['-select_streams', 'v:0', '-show_entries', 'packet=pts', '-of', 'json', cat])) as { packets: { pts: number }[] }).packets;
      const pts = packets.map((p) => p.pts);
      expect(pts.length).toBe(frameSum);
      const diffs = pts.slice(1).map((p, i) => p - pts[i]!);
      // 25 fps in 90 kHz: every step is one frame, none repeated, none missing.
      expect(new Set(diffs)).toEqual(new Set([3600]));
      const spanMs = Date.parse(segs.at(-1)!.endedAt) - Date.parse(segs[1]!.startedAt);
      expect(Math.abs(spanMs - frameSum * 40)).toBeLessThanOrEqual(2000);
    }
  }, 60_000);

  it('records a G.711 camera with AAC audio', async () => {
    const c = got.get('cam-g711')!;
    await until(c, () => c.segments.length >= 2);
    const streams = await probeStreams(c.segments[1]!.file);
    expect(streams.map((x) => `${x.codec_name}${x.sample_rate ? `@${x.sample_rate}` : ''}`).sort()).toEqual(['aac@8000', 'h264']);
  }, 30_000);

  it('reports the audio level about once a second: the tone, then ≤ −60 dBFS for silence', async () => {
    const c = got.get('cam-b')!;
    await until(c, () => c.levels.length >= 4);
    const tone = c.levels.slice(1, 4);
    for (const l of tone) expect(l.dbfs).toBeGreaterThan(-40);
    for (const l of tone) expect(l.dbfs).toBeLessThan(0);
    const spacing = Date.parse(tone[2]!.at) - Date.parse(tone[0]!.at);
    expect(spacing).toBeGreaterThan(1500);
    expect(spacing).toBeLessThan(2600);
    // They arrive as they are measured, not in bursts held back by ffmpeg's output buffer (which
    // delivered eight at once, up to 8 s late).
    const arrivals = c.levelArrivals.slice(1, 4);
    expect(arrivals[2]! - arrivals[0]!).toBeGreaterThan(1000);
    sim.cameras[1]!.faults.set({ silentAudio: true });
    const n = c.levels.length;
    await until(c, () => c.levels.length >= n + 4);
    sim.cameras[1]!.faults.set({ silentAudio: false });
    expect(c.levels.at(-1)!.dbfs).toBeLessThanOrEqual(-60);
  }, 30_000);

  it('a 5 s stall is one interruption of about 5 s, noticed within 3 s; the other camera has none', async () => {
    const a = got.get('cam-a')!;
    const b = got.get('cam-b')!;
    const before = { aGaps: a.gaps.length, aInt: a.interruptions.length, bInt: b.interruptions.length, bGaps: b.gaps.length };
    const t0 = Date.now();
    sim.cameras[0]!.faults.set({ stallMedia: true });
    await until(a, () => a.gaps.length > before.aGaps);
    const detectedInMs = Date.now() - t0;
    expect(detectedInMs).toBeLessThanOrEqual(3000);
    expect(a.gaps.at(-1)!.cause).toBe('stalled');
    // Keep the stall for 5 s in all, measured from its start: wait on the camera's own clock via a segment-free timer.
    await new Promise<void>((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - t0)))); // fault duration, not synchronisation
    sim.cameras[0]!.faults.set({ stallMedia: false });
    const backAt = Date.now();
    await until(a, () => a.interruptions.length > before.aInt, 20_000);
    const i = a.interruptions.at(-1)!;
    expect(i.cause).toBe('stalled');
    // The first recorded frame after the gap: captured within 2 s + GOP of the camera's return.
    expect(Date.parse(i.endedAt) - backAt).toBeLessThanOrEqual(MAX_RESUME_MS);
    const lengthMs = Date.parse(i.endedAt) - Date.parse(i.startedAt);
    expect(lengthMs).toBeGreaterThan(3500);
    expect(lengthMs).toBeLessThan(MAX_GAP_MS);
    expect(a.interruptions.length).toBe(before.aInt + 1);
    const n = a.segments.length;
    await until(a, () => a.segments.length >= n + 2);
    expect(b.interruptions.length).toBe(before.bInt);
    expect(b.gaps.length).toBe(before.bGaps);
  }, 40_000);

  it('a dropped connection kept away for 5 s is one connection_lost interruption; recording resumes', async () => {
    const a = got.get('cam-a')!;
    const before = { gaps: a.gaps.length, ints: a.interruptions.length };
    const t0 = Date.now();
    sim.cameras[0]!.faults.set({ unresponsive: true });
    sim.cameras[0]!.faults.dropConnections();
    await until(a, () => a.gaps.length > before.gaps);
    expect(Date.now() - t0).toBeLessThanOrEqual(3000);
    expect(a.gaps.at(-1)!.cause).toBe('connection_lost');
    await new Promise<void>((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - t0)))); // fault duration
    sim.cameras[0]!.faults.set({ unresponsive: false });
    const backAt = Date.now();
    await until(a, () => a.interruptions.length > before.ints, 20_000);
    const i = a.interruptions.at(-1)!;
    expect(i.cause).toBe('connection_lost');
    expect(Date.parse(i.endedAt) - backAt).toBeLessThanOrEqual(MAX_RESUME_MS);
    const lengthMs = Date.parse(i.endedAt) - Date.parse(i.startedAt);
    expect(lengthMs).toBeGreaterThan(3500);
    expect(lengthMs).toBeLessThan(MAX_GAP_MS);
    expect(a.interruptions.length).toBe(before.ints + 1);
  }, 40_000);

  it('close() leaves no ffmpeg and no partial file reported', async () => {
    const ingest = ingests.find((i) => i.cameraId === 'cam-g711')!;
    const pid = ingest.pid!;
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    await ingest.close();
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(ingest.state).toBe('stopped');
    const files = readdirSync(join(work, 'spool', 'cam-g711')).filter((f) => f.endsWith('.ts'));
    const reported = new Set(got.get('cam-g711')!.segments.map((s) => s.file.split('/').at(-1)));
    for (const f of files) expect(reported.has(f)).toBe(true);
  }, 20_000);
});
