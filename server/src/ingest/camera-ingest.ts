import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { ffmpegBinary, rtspTimeoutArgs, type FfBinary } from '../shared/ffmpeg/ffmpeg-binary.ts';
import { FfmpegProcess, runFfmpeg } from '../shared/ffmpeg/ffmpeg-process.ts';
import {
  IngestStateError,
  type CameraIngestEvents,
  type CameraIngestOptions,
  type IngestGap,
  type IngestState,
  type InterruptionCause,
  type SpoolSegment,
} from './camera-ingest.types.ts';
import { LevelMeter } from './level-meter.ts';
import { RtspTap, type RtpFromCamera, type TapAnchor } from './rtsp-tap.ts';
import { readSegmentFile, segmentName, seqOf, waitUntilClosed } from './segment-file.ts';

export * from './camera-ingest.types.ts';
export type { RtpFromCamera } from './rtsp-tap.ts';

const BACKOFF_START_MS = 250;
const BACKOFF_CAP_RECORDING_MS = 1000;
const BACKOFF_CAP_IDLE_MS = 10_000;
const WATCHDOG_MS = 250;

/** One ffmpeg run: one RTSP connection, one media timeline. */
interface Run {
  proc: FfmpegProcess;
  startedAtMs: number;
  startSeq: number;
  anchor: TapAnchor | null;
  gotMedia: boolean;
  firstMediaMs: number | null;
  reported: Set<number>;
  /** Media time of the run's first frame (0 until its first segment is read). */
  firstFrameS: number;
  /** Segment list entries are handled one after the other, in order. */
  queue: Promise<void>;
  ended: Promise<void>;
}

/** Escapes a value for the tee muxer's `[opts]target|…` syntax. */
const teeEscape = (s: string): string => s.replace(/[\\:|[\]]/g, '\\$&');

/**
 * The always-on ingest of one camera: ONE supervised ffmpeg pulls the main stream (RTSP/TCP,
 * through a loopback relay that reads the camera's RTCP), copies video, transcodes audio to AAC and
 * writes ~2 s keyframe-aligned MPEG-TS segments into `<spoolDir>/<cameraId>/` and an audio level
 * per second. Live consumers take the camera's RTP from the relay (`subscribeRtp`), never from
 * this ffmpeg, so none of them can slow or stop it. Gaps are detected within `stallMs` + 0.25 s
 * and the ingest reconnects by itself with backoff (1 s cap while recording).
 */
export class CameraIngest extends EventEmitter<CameraIngestEvents> {
  readonly cameraId: string;
  readonly dir: string;
  private readonly o: CameraIngestOptions;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly tap: RtspTap;
  private readonly target: URL;
  private binary: FfBinary | null = null;
  private run: Run | null = null;
  private current: IngestState = 'stopped';
  private started = false;
  private closing = false;
  private closedPromise: Promise<void> | null = null;
  private recording = false;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDueAt = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private nextSeq = 0;
  private gap: IngestGap | null = null;
  /** The run in which the open gap was noticed: only a segment of a later run closes it. */
  private gapRun: Run | null = null;
  private lastSegmentEndedAt: string | null = null;
  private clockOffsetMs: number;
  private latencyMs: number | null = null;
  private latencyBaseline: number | null = null;
  private everSpawned = false;
  private hostIp: string | null = null;

  constructor(options: CameraIngestOptions) {
    super();
    if (!options.cameraId || !/^[A-Za-z0-9._-]+$/.test(options.cameraId)) throw new TypeError('CameraIngest: cameraId must be [A-Za-z0-9._-]+');
    if (!options.spoolDir) throw new TypeError('CameraIngest: spoolDir is required');
    let url: URL;
    try {
      url = new URL(options.rtspUrl);
    } catch {
      throw new TypeError('CameraIngest: rtspUrl is not a URL');
    }
    if (url.protocol !== 'rtsp:') throw new TypeError('CameraIngest: rtspUrl must be rtsp://');
    const seg = options.segmentSeconds ?? 2;
    if (!(seg >= 0.5 && seg <= 60)) throw new TypeError('CameraIngest: segmentSeconds must be within 0.5–60');
    this.o = options;
    this.target = url;
    this.cameraId = options.cameraId;
    this.dir = join(resolve(options.spoolDir), options.cameraId);
    this.log = options.log.child({ mod: 'ingest', camera: options.cameraId });
    this.clock = options.clock ?? systemClock;
    this.clockOffsetMs = options.cameraClockOffsetMs ?? 0;
    this.tap = new RtspTap({
      host: '127.0.0.1', // replaced per run by the resolved address (expect(host))
      port: Number(url.port || 554),
      log: this.log,
      senderReportWaitMs: options.timeSource === 'arrival' ? 0 : (options.senderReportWaitMs ?? 3000),
      nowMs: () => this.nowMs(),
    });
    this.tap.on('anchor', (a) => {
      if (this.run) this.run.anchor = a;
      this.log.debug({ anchor: a }, 'media timeline anchored');
    });
    this.tap.on('upstreamClosed', (reason) => {
      if (!this.run || this.closing) return;
      this.openGap(this.run.gotMedia || !this.gap ? 'connection_lost' : 'camera_unreachable', reason);
    });
    this.tap.on('upstreamFailed', (err) => {
      if (!this.run || this.closing) return;
      this.openGap('camera_unreachable', err.message);
    });
    this.tap.on('latency', (ms) => this.onLatency(ms));
  }

  get state(): IngestState {
    return this.current;
  }

  /** Live consumers: every RTP packet the camera sends, as it passes the relay. Returns the unsubscribe. */
  subscribeRtp(listener: (rtp: RtpFromCamera) => void): () => void {
    this.tap.on('rtp', listener);
    return () => void this.tap.off('rtp', listener);
  }

  /** The ffmpeg pid of the current run (tests, metrics). */
  get pid(): number | undefined {
    return this.run?.proc.pid;
  }

  /** While a session records, reconnect attempts are capped at 1 s apart (else 10 s). */
  setRecording(recording: boolean): void {
    this.recording = recording;
    if (recording && this.restartTimer && this.restartDueAt - this.nowMs() > BACKOFF_CAP_RECORDING_MS) {
      this.scheduleRestart(BACKOFF_CAP_RECORDING_MS);
    }
  }

  /** Camera clock minus true time (ms), e.g. from ONVIF GetSystemDateAndTime; applies to later segments. */
  setCameraClockOffset(ms: number): void {
    if (!Number.isFinite(ms)) throw new TypeError('camera clock offset must be a finite number');
    this.clockOffsetMs = ms;
  }

  /** Starts the first ffmpeg. Throws IngestStateError when called twice or after close(). */
  async start(): Promise<void> {
    if (this.started || this.closing) throw new IngestStateError(`ingest ${this.cameraId}: already started or closed`);
    this.started = true;
    this.setState('starting');
    await mkdir(this.dir, { recursive: true });
    this.nextSeq = (await this.maxSeqOnDisk()) + 1;
    this.binary = ffmpegBinary();
    await this.tap.listen();
    this.watchdog = setInterval(() => this.checkStall(), WATCHDOG_MS);
    await this.spawnRun();
  }

  /** Stops ffmpeg (SIGINT, then SIGKILL), finishes the segments it closed, closes the relay. Idempotent. */
  close(): Promise<void> {
    this.closedPromise ??= this.doClose();
    return this.closedPromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    const run = this.run;
    if (run) {
      await run.proc.close();
      await run.ended;
    }
    await this.tap.close();
    this.setState('stopped');
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  private setState(state: IngestState): void {
    if (this.current === state) return;
    this.current = state;
    this.fire('state', state);
  }

  private fire<K extends keyof CameraIngestEvents>(event: K, ...args: CameraIngestEvents[K]): void {
    for (const l of this.rawListeners(event as string)) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'listener threw');
      }
    }
  }

  private async maxSeqOnDisk(): Promise<number> {
    let max = -1;
    for (const name of await readdir(this.dir)) {
      const m = /^seg-(\d{10})\.ts(\.partial)?$/.exec(name);
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max;
  }

  private async resolveHost(): Promise<string> {
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return host;
    // The bundled 2018 ffmpeg crashes resolving names: it only ever sees our loopback relay anyway.
    const { address } = await lookup(host);
    return address;
  }

  private ffmpegArgs(inputUrl: string, startSeq: number): string[] {
    const segmentOpts = [
      'f=segment',
      'onfail=abort',
      `segment_time=${this.o.segmentSeconds ?? 2}`,
      'segment_format=mpegts',
      'reset_timestamps=0',
      'segment_list=pipe\\\\\\:3', // escaped twice: tee splits slaves, then parses their options
      'segment_list_type=csv',
      `segment_start_number=${startSeq}`,
    ].join(':');
    // Only the RMS level is needed: computing astats' other ~25 statistics per sample cost more CPU
    // than the rest of the ingest (bench:record). The selection options exist from libavfilter 8.
    const levelOnly = this.binary!.avformatMajor >= 59 ? ':measure_perchannel=none:measure_overall=RMS_level' : '';
    // Each level line is written as it is made: through ffmpeg's 32 KiB output buffer the levels
    // reached the meters in bursts, up to 8 s late (ffmpeg 5.1). The 2018 build has no `direct`.
    const unbuffered = this.binary!.avformatMajor >= 59 ? ':direct=1' : '';
    return [
      '-hide_banner', '-nostats', '-nostdin', '-loglevel', 'warning',
      // Keep the RTP-derived pts: with the relay's anchor they are camera-clock instants.
      '-copyts',
      '-rtsp_transport', 'tcp', ...rtspTimeoutArgs(10_000_000, this.binary!),
      '-i', inputUrl,
      '-map', '0:v:0', '-map', '0:a:0?',
      '-c:v', 'copy',
      '-c:a', 'aac', '-b:a', String(this.o.audioBitrate ?? 64_000),
      '-af', `astats=metadata=1:reset=1${levelOnly},ametadata=mode=print:key=lavfi.astats.Overall.RMS_level:file='pipe\\:4'${unbuffered}`,
      // Through tee (one slave): the segment muxer used directly shifts the list times of a
      // connection whose first frame is stamped early, by ~1.4 s (ingest-time test).
      '-f', 'tee',
      `[${segmentOpts}]${teeEscape(join(this.dir, 'seg-%010d.ts'))}`,
    ];
  }

  private async spawnRun(): Promise<void> {
    if (this.closing) return;
    this.restartTimer = null;
    try {
      this.hostIp = await this.resolveHost();
    } catch (err) {
      this.openGap('camera_unreachable', `cannot resolve ${this.target.hostname}: ${(err as Error).message}`);
      this.scheduleRestart();
      return;
    }
    if (this.closing) return;
    const user = this.o.credentials ? `${encodeURIComponent(this.o.credentials.username)}:${encodeURIComponent(this.o.credentials.password)}@` : '';
    const inputUrl = `rtsp://${user}127.0.0.1:${this.tap.port}${this.target.pathname}${this.target.search}`;
    const startSeq = this.nextSeq;
    this.tap.expect(this.hostIp);
    const proc = new FfmpegProcess({
      args: this.ffmpegArgs(inputUrl, startSeq),
      binary: { path: this.binary!.path },
      log: this.log,
      name: `ingest-${this.cameraId}`,
      stdout: 'ignore',
      extraPipes: 2,
      stopTimeoutMs: 3000,
    });
    let endRun!: () => void;
    const run: Run = {
      proc,
      startedAtMs: this.nowMs(),
      startSeq,
      anchor: null,
      gotMedia: false,
      firstMediaMs: null,
      reported: new Set(),
      firstFrameS: 0,
      queue: Promise.resolve(),
      ended: new Promise<void>((r) => (endRun = r)),
    };
    this.run = run;
    let startError: Error | null = null;
    proc.once('startFailed', (err) => (startError = err));
    proc.on('died', (err) => this.fire('died', err));
    proc.start();
    if (startError) {
      endRun();
      this.run = null;
      if (!this.everSpawned) {
        this.log.error({ err: startError }, 'ingest ffmpeg could not be started');
        this.closing = true;
        if (this.watchdog) clearInterval(this.watchdog);
        await this.tap.close();
        this.setState('stopped');
        this.fire('startFailed', startError);
        return;
      }
      this.openGap('process_exit', (startError as Error).message);
      this.scheduleRestart();
      return;
    }
    this.everSpawned = true;
    const csvDone = new Promise<void>((resolveCsv) => {
      const lines = createInterface({ input: proc.pipe(3) });
      lines.on('line', (line) => {
        run.queue = run.queue.then(() => this.onSegmentLine(run, line)).catch((err) => this.log.error({ err }, 'segment handling failed'));
      });
      lines.once('close', () => resolveCsv());
    });
    const meter = new LevelMeter((dbfs, endPtsS) => this.onLevel(run, dbfs, endPtsS));
    createInterface({ input: proc.pipe(4) }).on('line', (line) => meter.line(line));
    void proc.done().then(async (info) => {
      await csvDone;
      await run.queue;
      await this.quarantinePartials(run);
      if (this.run === run) this.run = null;
      this.tap.drop();
      endRun();
      if (this.closing) return;
      const tail = proc.stderrTail().slice(-3).join(' | ');
      this.openGap('process_exit', `ffmpeg exited (${info.signal ?? `code ${info.code}`})${tail ? `: ${tail}` : ''}`);
      this.scheduleRestart();
    });
  }

  private scheduleRestart(capOverride?: number): void {
    if (this.closing) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const cap = capOverride ?? (this.recording ? BACKOFF_CAP_RECORDING_MS : BACKOFF_CAP_IDLE_MS);
    const delay = Math.min(cap, BACKOFF_START_MS * 2 ** this.attempts);
    if (capOverride === undefined) this.attempts++;
    this.restartDueAt = this.nowMs() + delay;
    this.setState('reconnecting');
    this.log.debug({ delay, attempts: this.attempts }, 'reconnecting');
    this.restartTimer = setTimeout(() => void this.spawnRun(), delay);
  }

  /** No media for `stallMs`: the gap starts; ffmpeg is stopped and the watchdog-free restart follows. */
  private checkStall(): void {
    const run = this.run;
    if (!run || this.closing || run.proc.pid === undefined) return;
    const last = this.tap.lastMediaAt;
    if (last !== null) {
      run.gotMedia = true;
      run.firstMediaMs ??= this.nowMs();
    }
    const ref = last ?? run.startedAtMs;
    const stallMs = this.o.stallMs ?? 2500;
    const segmentDeadlineMs = (this.o.segmentSeconds ?? 2) * 2000 + 5000;
    if (run.firstMediaMs !== null && run.reported.size === 0 && this.nowMs() - run.firstMediaMs > segmentDeadlineMs) {
      // Media flows but ffmpeg writes no segment (e.g. the segment output failed to open): never trust that.
      this.log.error({ stderr: run.proc.stderrTail().slice(-5) }, 'ffmpeg writes no segments: restarting it');
      this.openGap('process_exit', 'ffmpeg wrote no segment while media arrived');
      run.firstMediaMs = Infinity;
      this.tap.drop();
      void run.proc.close();
      return;
    }
    if (this.nowMs() - ref <= stallMs) return;
    if (run.gotMedia) this.openGap('stalled', `no media for ${Math.round((this.nowMs() - ref) / 100) / 10} s`);
    else this.openGap('camera_unreachable', `no media within ${stallMs} ms of connecting`);
    // SIGINT: ffmpeg closes its last segment properly; the exit handler reconnects.
    this.tap.drop();
    void run.proc.close();
  }

  private openGap(cause: InterruptionCause, detail: string): void {
    if (this.gap || this.closing) return;
    const now = this.nowMs();
    const lastMedia = this.tap.lastMediaAt;
    const startedMs = lastMedia !== null ? lastMedia - (this.latencyMs ?? this.o.arrivalLatencyMs ?? 0) : now;
    const startedAt = this.lastSegmentEndedAt && Date.parse(this.lastSegmentEndedAt) > startedMs ? this.lastSegmentEndedAt : new Date(startedMs).toISOString();
    this.gapRun = this.run;
    this.gap = { cameraId: this.cameraId, startedAt, detectedAt: new Date(now).toISOString(), cause, detail };
    this.log.warn({ cause, detail }, 'camera gap');
    this.setState('reconnecting');
    this.fire('gap', this.gap);
  }

  private onLatency(ms: number): void {
    this.latencyMs = ms;
    const threshold = this.o.driftThresholdMs ?? 40;
    if (this.latencyBaseline === null) {
      this.latencyBaseline = ms;
      return;
    }
    const drift = ms - this.latencyBaseline;
    if (Math.abs(drift) > threshold) {
      this.log.warn({ driftMs: Math.round(drift) }, 'camera clock drift');
      this.latencyBaseline = ms;
      this.fire('drift', { cameraId: this.cameraId, driftMs: Math.round(drift), at: new Date(this.nowMs()).toISOString() });
    }
  }

  /** Wall-clock capture instant (ms) of a media time of the run. */
  private wallMs(run: Run, mediaS: number): { ms: number; source: 'rtcp' | 'arrival' } {
    const a = run.anchor ?? this.tap.anchor;
    if (a?.source === 'rtcp') return { ms: a.ptsZeroMs + mediaS * 1000 - this.clockOffsetMs, source: 'rtcp' };
    const latency = this.latencyMs ?? this.o.arrivalLatencyMs ?? 0;
    const zero = a?.ptsZeroMs ?? run.startedAtMs;
    return { ms: zero + (mediaS - run.firstFrameS) * 1000 - latency, source: 'arrival' };
  }

  private onLevel(run: Run, dbfs: number, endPtsS: number): void {
    this.fire('level', { cameraId: this.cameraId, dbfs, at: new Date(Math.round(this.wallMs(run, endPtsS).ms)).toISOString() });
  }

  private async onSegmentLine(run: Run, line: string): Promise<void> {
    const [name, startS, endS] = line.split(',');
    const seq = name ? seqOf(name.trim()) : null;
    if (seq === null || startS === undefined || endS === undefined) {
      this.log.warn({ line }, 'unexpected segment list line');
      return;
    }
    const file = join(this.dir, name!.trim());
    if (!(await waitUntilClosed(run.proc.pid, file))) this.log.warn({ file }, 'segment still open after 3 s; reading it anyway');
    const facts = await readSegmentFile(file);
    const mediaEndS = Number(endS);
    // ffmpeg stamps the first frame of a connection about 0.8 s early (its RTP time is not yet
    // mapped): place the first segment of a run by its next frames instead.
    const mediaStartS = run.reported.size === 0 && facts.wellFormed ? await firstFrameStart(file, Number(startS), this.log) : Number(startS);
    // By arrival, the first video packet's arrival is the first frame's instant: anchor it there.
    if (run.reported.size === 0) run.firstFrameS = mediaStartS;
    if (!facts.wellFormed || !(mediaEndS > mediaStartS)) {
      this.log.error({ file, bytes: facts.bytes, mediaStartS, mediaEndS }, 'segment is not a whole MPEG-TS file: quarantined');
      await rename(file, `${file}.partial`).catch(() => undefined);
      return;
    }
    run.reported.add(seq);
    run.gotMedia = true;
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    const start = this.wallMs(run, mediaStartS);
    const end = this.wallMs(run, mediaEndS);
    const segment: SpoolSegment = {
      cameraId: this.cameraId,
      seq,
      file,
      bytes: facts.bytes,
      sha256: facts.sha256,
      mediaStartS,
      mediaEndS,
      startedAt: new Date(Math.round(start.ms)).toISOString(),
      endedAt: new Date(Math.round(end.ms)).toISOString(),
      timeSource: start.source,
    };
    if (this.gap && this.gapRun !== run) {
      const gap = this.gap;
      this.gap = null;
      this.gapRun = null;
      this.fire('interruption', {
        cameraId: this.cameraId,
        // The gap runs from the end of the last recorded media (a quarantined partial tail is part of it).
        startedAt: this.lastSegmentEndedAt ?? gap.startedAt,
        endedAt: segment.startedAt,
        cause: gap.cause,
        detail: gap.detail,
      });
    }
    this.attempts = 0;
    this.lastSegmentEndedAt = segment.endedAt;
    if (!this.closing) this.setState('running');
    this.fire('segment', segment);
  }

  /** A file ffmpeg started but never listed (it crashed or was killed) is never served as valid. */
  private async quarantinePartials(run: Run): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      const seq = seqOf(name);
      if (seq === null || seq < run.startSeq || run.reported.has(seq)) continue;
      const file = join(this.dir, name);
      this.log.warn({ file }, 'partial segment of an ended ffmpeg quarantined (never listed as closed)');
      await rename(file, `${file}.partial`).catch(() => undefined);
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }
}

export { segmentName };

/**
 * The media time of a segment's first frame judged by the frames after it: when the first frame's
 * time stands more than two and a half frame intervals before the second, it is an unmapped stamp,
 * and the first frame is placed one interval before the second.
 */
async function firstFrameStart(file: string, listedStartS: number, log: Logger): Promise<number> {
  try {
    const { stdout } = await runFfmpeg({
      binary: 'ffprobe',
      name: 'first-frames',
      log,
      timeoutMs: 5000,
      args: ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#3', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file],
    });
    const pts = stdout.toString('utf8').split('\n').map((l) => Number.parseFloat(l)).filter((n) => Number.isFinite(n));
    if (pts.length < 3) return listedStartS;
    const [first, second, third] = pts as [number, number, number];
    const interval = third - second;
    if (!(interval > 0) || second - first <= interval * 2.5) return listedStartS;
    return Math.max(listedStartS, second - interval);
  } catch (err) {
    log.warn({ err, file }, 'could not read the first frames of a segment; keeping its listed start');
    return listedStartS;
  }
}
