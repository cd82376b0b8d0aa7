import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { RtpFromCamera } from '../ingest/camera-ingest.ts';
import { FfmpegProcess } from '../shared/ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../shared/logger.ts';
import { buildLocalSdp, parseSdpSections, sectionIndexOf, type SdpMediaSection } from './rtp-sdp.ts';

/** What a publisher needs of a camera's always-on ingest: its RTP, as it passes the relay. */
export interface RtpSource {
  subscribeRtp(listener: (rtp: RtpFromCamera) => void): () => void;
}

export interface CameraFlvPublisherOptions {
  cameraId: string;
  /** The camera's ingest now (it is replaced when the camera's stream URL changes), or none. */
  ingestOf: () => RtpSource | undefined;
  /** `rtmp://127.0.0.1:<port>/live/<cameraId>?key=<internal key>`. */
  outputUrl: string;
  log: Logger;
}

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 10_000;
const CHECK_MS = 1000;

interface Run {
  proc: FfmpegProcess;
  cameraSdp: string;
  /** Section index → local UDP port (RTP; RTCP is +1). */
  ports: Map<number, number>;
  sections: SdpMediaSection[];
}

/**
 * One camera published to the embedded RTMP server for FLV viewers, while it has any: ONE ffmpeg
 * reads the camera's RTP (from its always-on ingest, never another pull of the camera) over
 * loopback UDP with an SDP written from the camera's, copies H.264, transcodes audio to AAC and
 * pushes FLV. It restarts by itself with backoff; nothing it does reaches the ingest or recording
 * (a failing publisher only stops getting packets forwarded).
 */
export class CameraFlvPublisher {
  readonly cameraId: string;
  private readonly o: CameraFlvPublisherOptions;
  private readonly log: Logger;
  private udp: UdpSocket | null = null;
  private source: RtpSource | undefined;
  private unsubscribe: (() => void) | null = null;
  private run: Run | null = null;
  private launching = false;
  private nextLaunchAt = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private warnedCodec = false;
  private readonly onRtp = (rtp: RtpFromCamera) => this.forward(rtp);

  constructor(options: CameraFlvPublisherOptions) {
    this.o = options;
    this.cameraId = options.cameraId;
    this.log = options.log.child({ mod: 'flv-publisher', camera: options.cameraId });
  }

  /** The ffmpeg pid of the current run (tests). */
  get pid(): number | undefined {
    return this.run?.proc.pid;
  }

  start(): void {
    if (this.udp || this.closed) return;
    this.udp = createSocket('udp4');
    this.udp.on('error', (err) => this.log.debug({ err }, 'udp send error'));
    this.udp.bind(0, '127.0.0.1');
    this.follow();
    this.timer = setInterval(() => this.follow(), CHECK_MS);
    this.timer.unref();
  }

  /** Unsubscribes, stops ffmpeg (SIGINT, then SIGKILL) and closes the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = null;
    const run = this.run;
    this.run = null;
    if (run) await run.proc.close();
    await new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve()));
    this.udp = null;
  }

  /** Subscribes to the camera's current ingest (a new one after the camera's URL changed). */
  private follow(): void {
    if (this.closed) return;
    const source = this.o.ingestOf();
    if (source === this.source) return;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.source = source;
    if (source) this.unsubscribe = source.subscribeRtp(this.onRtp);
  }

  private forward(rtp: RtpFromCamera): void {
    if (this.closed) return;
    const run = this.run;
    if (!run || run.cameraSdp !== rtp.sdp) {
      // A new connection of the camera may bring another SDP: ffmpeg starts again with it.
      if (run && !this.launching) {
        this.log.info('camera SDP changed: restarting the FLV publisher');
        this.run = null;
        void run.proc.close();
      }
      if (!this.launching && Date.now() >= this.nextLaunchAt) void this.launch(rtp.sdp);
      return;
    }
    const index = sectionIndexOf(run.sections, rtp.track);
    const port = run.ports.get(index);
    if (port !== undefined) this.udp?.send(rtp.packet, port, '127.0.0.1');
  }

  private async launch(cameraSdp: string): Promise<void> {
    this.launching = true;
    try {
      const all = parseSdpSections(cameraSdp);
      const video = all.find((s) => s.kind === 'video');
      if (!video || video.encoding !== 'H264') {
        if (!this.warnedCodec) this.log.warn({ codec: video?.encoding ?? null }, 'FLV carries H.264 only: this camera is not published');
        this.warnedCodec = true;
        this.nextLaunchAt = Date.now() + BACKOFF_CAP_MS;
        return;
      }
      const audio = all.find((s) => s.kind === 'audio' && s.encoding !== '');
      const sections = audio ? [video, audio] : [video];
      const localPorts = await freeUdpPortPairs(sections.length);
      if (this.closed) return;
      const sdp = buildLocalSdp(sections, localPorts);
      const proc = new FfmpegProcess({
        name: `flv-${this.cameraId}`,
        log: this.log,
        stdin: 'pipe',
        stdout: 'ignore',
        stopTimeoutMs: 2000,
        args: [
          '-hide_banner', '-nostats', '-loglevel', 'error',
          '-protocol_whitelist', 'pipe,udp,rtp',
          '-analyzeduration', '1000000', '-probesize', '1000000',
          '-f', 'sdp', '-i', 'pipe:0',
          '-map', '0:v:0', '-map', '0:a:0?',
          '-c:v', 'copy',
          '-c:a', 'aac', '-b:a', '64000',
          '-f', 'flv', '-flvflags', 'no_duration_filesize',
          this.o.outputUrl,
        ],
      });
      let startError: Error | null = null;
      proc.once('startFailed', (err) => (startError = err));
      proc.start();
      if (startError) throw startError;
      proc.stdin?.end(sdp);
      const ports = new Map(sections.map((_, i) => [i, localPorts[i]!] as const));
      const run: Run = { proc, cameraSdp, ports, sections: sections.map((s) => ({ ...s })) };
      this.run = run;
      const startedAt = Date.now();
      void proc.done().then((info) => {
        if (this.run === run) this.run = null;
        if (this.closed || info.requested) return;
        // A run that lasted gets a quick restart; one that keeps failing backs off.
        this.failures = Date.now() - startedAt > 30_000 ? 0 : this.failures + 1;
        const delay = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** this.failures);
        this.nextLaunchAt = Date.now() + delay;
        this.log.warn({ code: info.code, signal: info.signal, stderr: proc.stderrTail().slice(-3), retryInMs: delay }, 'FLV publisher ffmpeg ended');
      });
    } catch (err) {
      this.failures++;
      this.nextLaunchAt = Date.now() + Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** this.failures);
      this.log.error({ err }, 'FLV publisher could not start');
    } finally {
      this.launching = false;
    }
  }
}

/** `count` RTP ports on 127.0.0.1, each even with the next (RTCP) free too, checked by binding them. */
export async function freeUdpPortPairs(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 100; attempt++) {
    const port = 20_000 + 2 * Math.floor(Math.random() * 20_000);
    if (ports.includes(port)) continue;
    if ((await canBind(port)) && (await canBind(port + 1))) ports.push(port);
  }
  if (ports.length < count) throw new Error('no free UDP port pair on 127.0.0.1');
  return ports;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

export interface CameraFlvServiceOptions {
  ingestOf: (cameraId: string) => RtpSource | undefined;
  /** The RTMP URL a camera is published to (with the internal key). */
  publishUrl: (cameraId: string) => string;
  /** A publisher stops this long after its last viewer left. */
  idleStopMs: number;
  /** After a publisher stopped for want of viewers (the stream's cache is dropped then). */
  onStopped?: (cameraId: string) => void;
  log: Logger;
}

/** Counts FLV viewers per camera: the first starts the camera's publisher, the last stops it a little later. */
export class CameraFlvService {
  private readonly cameras = new Map<string, { publisher: CameraFlvPublisher; viewers: number; idle: NodeJS.Timeout | null }>();
  private closed = false;

  constructor(private readonly o: CameraFlvServiceOptions) {}

  /** Whether the camera has an ingest to publish from now. */
  canPublish(cameraId: string): boolean {
    return this.o.ingestOf(cameraId) !== undefined;
  }

  /** One more viewer of a camera; call the returned function (once) when the viewer goes. */
  acquire(cameraId: string): () => void {
    if (this.closed) throw new Error('CameraFlvService is closed');
    let entry = this.cameras.get(cameraId);
    if (!entry) {
      const publisher = new CameraFlvPublisher({
        cameraId,
        ingestOf: () => this.o.ingestOf(cameraId),
        outputUrl: this.o.publishUrl(cameraId),
        log: this.o.log,
      });
      entry = { publisher, viewers: 0, idle: null };
      this.cameras.set(cameraId, entry);
      publisher.start();
    }
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = null;
    entry.viewers++;
    const held = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.viewers--;
      if (held.viewers > 0 || this.closed) return;
      held.idle = setTimeout(() => {
        if (held.viewers > 0 || this.cameras.get(cameraId) !== held) return;
        this.cameras.delete(cameraId);
        void held.publisher.close().then(() => this.o.onStopped?.(cameraId));
      }, this.o.idleStopMs);
      held.idle.unref();
    };
  }

  /** Publishers running now, by camera (tests, metrics). */
  running(): { cameraId: string; viewers: number; pid: number | undefined }[] {
    return [...this.cameras.entries()].map(([cameraId, e]) => ({ cameraId, viewers: e.viewers, pid: e.publisher.pid }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.cameras.values()];
    this.cameras.clear();
    for (const e of all) if (e.idle) clearTimeout(e.idle);
    await Promise.allSettled(all.map((e) => e.publisher.close()));
  }
}
