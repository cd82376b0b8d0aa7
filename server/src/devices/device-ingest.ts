import { EventEmitter } from 'node:events';
import { mkdir, readdir, rename } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { SpoolSegment } from '../ingest/camera-ingest.types.ts';
import { readSegmentFile, seqOf, waitUntilClosed } from '../ingest/segment-file.ts';
import { FfmpegProcess } from '../shared/ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../shared/logger.ts';

export interface DeviceIngestOptions {
  deviceId: string;
  /** The device's stream on the embedded RTMP server, `rtmp://127.0.0.1:<port>/device/<id>`. */
  sourceUrl: string;
  /** Segments go to `<spoolDir>/<deviceId>/`, named like the cameras' (`seg-0000000042.ts`). */
  spoolDir: string;
  segmentSeconds: number;
  /** The publish's timeline, shared by every reader of one publish. */
  timeline: DeviceTimeline;
  log: Logger;
}

/**
 * How a publish's timestamps map to wall-clock time: its first frame (media time `firstMediaS`, set
 * by the first segment any reader of the publish closes) arrived at `publishedAtMs`. The RTMP server
 * keeps the publisher's own timestamps, so a reader started later maps its segments the same way.
 */
export interface DeviceTimeline {
  publishedAtMs: number;
  firstMediaS: number | null;
}

export interface DeviceIngestEvents {
  segment: [SpoolSegment];
  /** An ffmpeg run ended while the device still published (an error, or no data for 5 s); it is restarted. */
  died: [Error];
}

const BACKOFF_START_MS = 250;
const BACKOFF_CAP_MS = 2000;

/**
 * Records one publishing portable device like a camera's ingest records a camera: one supervised
 * ffmpeg reads the device's stream from the embedded RTMP server (loopback), copies video,
 * transcodes audio to AAC and writes ~2 s MPEG-TS segments into the spool; each closed segment is
 * hashed once (`readSegmentFile`) and emitted as a `SpoolSegment` (time source: arrival, the publish
 * instant plus the stream's own timestamps, which stay continuous across reconnects of this reader).
 * It runs from the device's publish to its end (`close()`).
 */
export class DeviceIngest extends EventEmitter<DeviceIngestEvents> {
  readonly deviceId: string;
  readonly dir: string;
  private readonly o: DeviceIngestOptions;
  private readonly log: Logger;
  private proc: FfmpegProcess | null = null;
  private nextSeq = 0;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private closedPromise: Promise<void> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private runEnded: Promise<void> = Promise.resolve();

  constructor(options: DeviceIngestOptions) {
    super();
    if (!/^[A-Za-z0-9_-]+$/.test(options.deviceId)) throw new TypeError('DeviceIngest: deviceId must be [A-Za-z0-9_-]+');
    if (!options.sourceUrl.startsWith('rtmp://127.0.0.1:')) throw new TypeError('DeviceIngest: sourceUrl must be the loopback RTMP server');
    this.o = options;
    this.deviceId = options.deviceId;
    this.dir = join(resolve(options.spoolDir), options.deviceId);
    this.log = options.log.child({ mod: 'device-ingest', device: options.deviceId });
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    let max = -1;
    for (const name of await readdir(this.dir)) {
      const m = /^seg-(\d{10})\.ts(\.partial)?$/.exec(name);
      if (m) max = Math.max(max, Number(m[1]));
    }
    this.nextSeq = max + 1;
    this.spawn();
  }

  /** Stops ffmpeg with SIGINT (it closes its last segment), reads that segment, and quarantines any partial file. Idempotent. */
  close(): Promise<void> {
    this.closedPromise ??= (async () => {
      this.closing = true;
      if (this.restartTimer) clearTimeout(this.restartTimer);
      await this.proc?.close();
      await this.runEnded;
    })();
    return this.closedPromise;
  }

  private spawn(): void {
    if (this.closing) return;
    const startSeq = this.nextSeq;
    const proc = new FfmpegProcess({
      name: `device-${this.deviceId}`,
      log: this.log,
      stdout: 'ignore',
      extraPipes: 1,
      stopTimeoutMs: 3000,
      args: [
        '-hide_banner', '-nostats', '-nostdin', '-loglevel', 'warning',
        '-rw_timeout', '5000000',
        '-copyts',
        '-i', this.o.sourceUrl,
        '-map', '0:v:0', '-map', '0:a:0?',
        '-c:v', 'copy',
        '-c:a', 'aac', '-b:a', '64000',
        '-f', 'segment',
        '-segment_time', String(this.o.segmentSeconds),
        '-segment_format', 'mpegts',
        '-reset_timestamps', '0',
        '-segment_list', 'pipe:3',
        '-segment_list_type', 'csv',
        '-segment_start_number', String(startSeq),
        join(this.dir, 'seg-%010d.ts'),
      ],
    });
    this.proc = proc;
    let startError: Error | null = null;
    proc.once('startFailed', (err) => (startError = err));
    proc.start();
    if (startError) {
      this.log.error({ err: startError }, 'device ingest ffmpeg could not be started');
      this.proc = null;
      return;
    }
    const reported = new Set<number>();
    const listDone = new Promise<void>((resolveList) => {
      const lines = createInterface({ input: proc.pipe(3) });
      lines.on('line', (line) => {
        this.queue = this.queue.then(() => this.onSegmentLine(proc, line, reported)).catch((err) => this.log.error({ err }, 'segment handling failed'));
      });
      lines.once('close', () => resolveList());
    });
    const startedAt = Date.now();
    this.runEnded = proc.done().then(async (info) => {
      await listDone;
      await this.queue;
      await this.quarantinePartials(startSeq, reported);
      if (this.proc === proc) this.proc = null;
      if (this.closing || info.requested) return;
      const error = proc.exitError();
      this.emitSafe('died', error);
      this.failures = Date.now() - startedAt > 10_000 ? 0 : this.failures + 1;
      const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** this.failures);
      this.log.warn({ err: error, retryInMs: delay }, 'device ingest ffmpeg ended while the device publishes: restarting');
      this.restartTimer = setTimeout(() => this.spawn(), delay);
    });
  }

  private async onSegmentLine(proc: FfmpegProcess, line: string, reported: Set<number>): Promise<void> {
    const [rawName, startS, endS] = line.split(',');
    const name = rawName?.trim() ?? '';
    const seq = seqOf(name);
    if (seq === null || startS === undefined || endS === undefined) {
      this.log.warn({ line }, 'unexpected segment list line');
      return;
    }
    const file = join(this.dir, name);
    if (!(await waitUntilClosed(proc.pid, file))) this.log.warn({ file }, 'segment still open after 3 s; reading it anyway');
    const facts = await readSegmentFile(file);
    const mediaStartS = Number(startS);
    const mediaEndS = Number(endS);
    this.nextSeq = Math.max(this.nextSeq, seq + 1);
    reported.add(seq);
    if (!facts.wellFormed || !(mediaEndS > mediaStartS)) {
      this.log.error({ file, bytes: facts.bytes, mediaStartS, mediaEndS }, 'segment is not a whole MPEG-TS file: quarantined');
      await rename(file, `${file}.partial`).catch(() => undefined);
      return;
    }
    const timeline = this.o.timeline;
    timeline.firstMediaS ??= mediaStartS;
    const wall = (s: number) => new Date(Math.round(timeline.publishedAtMs + (s - timeline.firstMediaS!) * 1000)).toISOString();
    this.failures = 0;
    this.emitSafe('segment', {
      cameraId: this.deviceId,
      seq,
      file,
      bytes: facts.bytes,
      sha256: facts.sha256,
      mediaStartS,
      mediaEndS,
      startedAt: wall(mediaStartS),
      endedAt: wall(mediaEndS),
      timeSource: 'arrival',
    });
  }

  /** A file ffmpeg started but never listed is never served as a segment. */
  private async quarantinePartials(startSeq: number, reported: Set<number>): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) {
      const seq = seqOf(name);
      if (seq === null || seq < startSeq || reported.has(seq)) continue;
      const file = join(this.dir, name);
      this.log.warn({ file }, 'partial segment of an ended ffmpeg quarantined (never listed as closed)');
      await rename(file, `${file}.partial`).catch(() => undefined);
      this.nextSeq = Math.max(this.nextSeq, seq + 1);
    }
  }

  private emitSafe<K extends keyof DeviceIngestEvents>(event: K, ...args: DeviceIngestEvents[K]): void {
    for (const listener of this.rawListeners(event as string)) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'listener threw');
      }
    }
  }
}
