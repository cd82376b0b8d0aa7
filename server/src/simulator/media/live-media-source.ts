import { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.ts';
import { FfmpegProcess } from '../../shared/ffmpeg/ffmpeg-process.ts';
import { AudioPacer } from './audio-pacer.ts';
import { PCMA_SAMPLES_PER_FRAME, prepareAac, preparePcma, type PreparedAac } from './audio-frames.ts';
import { FlvH264Demuxer, type AvcConfig, type FlvAccessUnit } from './flv-h264-demuxer.ts';
import { FrameRenderer } from './frame-renderer.ts';
import { JpegSplitter } from './jpeg-splitter.ts';
import type { LiveMediaSourceOptions } from './live-media-source.types.ts';
import type {
  AudioCodec,
  AudioStreamInfo,
  MediaSource,
  MediaSourceEvents,
  MediaSourceInfo,
  VideoAccessUnit,
} from './media-source.types.ts';
import { safeEmit, simulatorLogger } from './safe-emit.ts';

export type { LiveMediaSourceOptions } from './live-media-source.types.ts';

/**
 * The live test source: Node renders yuv420p frames (test pattern, Beijing time, time code) at the
 * frame rate and pipes them to ONE ffmpeg that encodes the main stream, the scaled sub stream and a
 * JPEG snapshot once a second. Each access unit carries the wall-clock instant its frame was
 * rendered. Audio is pre-encoded once and paced in Node (no audio encoder running).
 */
export class LiveMediaSource extends EventEmitter<MediaSourceEvents> implements MediaSource {
  private readonly log: Logger;
  private readonly o: Required<Omit<LiveMediaSourceOptions, 'log' | 'ffmpegPath'>> & { ffmpegPath?: string };
  private readonly renderer: FrameRenderer;
  private encoder: FfmpegProcess | null = null;
  private pacer: AudioPacer | null = null;
  private aac: PreparedAac | null = null;
  private readonly pcma = preparePcma();
  private mainConfig: AvcConfig | null = null;
  private subConfig: AvcConfig | null = null;
  private snapshot: Buffer | null = null;
  /** Capture time of each frame written to ffmpeg, by frame index (= pts × fps). */
  private readonly captureTimes = new Map<number, number>();
  private framesWritten = 0;
  private framesDropped = 0;
  private tick = 0;
  private t0 = 0;
  private frameTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private started: Promise<void> | null = null;
  private onConfigReady: (() => void) | null = null;

  constructor(options: LiveMediaSourceOptions) {
    super();
    this.setMaxListeners(0); // one listener per RTSP session, many sessions
    this.log = simulatorLogger(options.log, { media: 'live' });
    this.o = {
      audio: options.audio ?? 'aac',
      width: options.width ?? 1280,
      height: options.height ?? 720,
      fps: options.fps ?? 25,
      mainBitrate: options.mainBitrate ?? 2_000_000,
      subWidth: options.subWidth ?? 640,
      subHeight: options.subHeight ?? 360,
      subBitrate: options.subBitrate ?? 400_000,
      gopS: options.gopS ?? 1,
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
    };
    if (options.audio && options.audio !== 'aac' && options.audio !== 'pcma') throw new TypeError(`audio must be 'aac' or 'pcma'`);
    this.renderer = new FrameRenderer(this.o.width, this.o.height);
  }

  /** Resolves once the encoder produced parameter sets for both streams. */
  start(): Promise<void> {
    this.started ??= this.doStart();
    return this.started;
  }

  info(): MediaSourceInfo {
    if (!this.mainConfig || !this.subConfig) throw new Error('LiveMediaSource: info() before start() resolved');
    const audio = this.audioInfo(this.o.audio);
    if (!audio) throw new Error('LiveMediaSource: audio not prepared');
    return {
      main: { width: this.o.width, height: this.o.height, fps: this.o.fps, sps: this.mainConfig.sps, pps: this.mainConfig.pps },
      sub: { width: this.o.subWidth, height: this.o.subHeight, fps: this.o.fps, sps: this.subConfig.sps, pps: this.subConfig.pps },
      audio,
    };
  }

  audioInfo(codec: AudioCodec): AudioStreamInfo | null {
    if (codec === 'pcma') return { codec, sampleRate: 8000, channels: 1 };
    return this.aac ? { codec, sampleRate: this.aac.sampleRate, channels: 1, config: this.aac.config } : null;
  }

  latestSnapshot(): Buffer | null {
    return this.snapshot;
  }

  /** The encoder's pid (its process group id too), for leak checks. */
  get encoderPid(): number | undefined {
    return this.encoder?.pid;
  }

  /** Frames rendered and frames skipped because the encoder fell behind. */
  stats(): { framesWritten: number; framesDropped: number } {
    return { framesWritten: this.framesWritten, framesDropped: this.framesDropped };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.pacer?.stop();
    await this.encoder?.close();
  }

  private async doStart(): Promise<void> {
    this.aac = await prepareAac(this.log);
    if (this.closed) throw new Error('LiveMediaSource closed during start');
    const { fps, width, height, subWidth, subHeight } = this.o;
    const gop = String(Math.max(1, Math.round(this.o.gopS * fps)));
    const x264 = (bitrate: number, threads: string) => [
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-threads', threads,
      '-b:v', String(bitrate), '-maxrate', String(bitrate), '-bufsize', String(bitrate),
      '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-bf', '0', '-pix_fmt', 'yuv420p',
      '-flush_packets', '1', '-f', 'flv',
    ];
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'warning', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      '-filter_complex', `[0:v]split=3[m][s0][j0];[s0]scale=${subWidth}:${subHeight}[s];[j0]fps=1,format=yuvj420p[j]`,
      '-vsync', '0',
      '-map', '[m]', ...x264(this.o.mainBitrate, '2'), 'pipe:1',
      '-map', '[s]', ...x264(this.o.subBitrate, '1'), 'pipe:3',
      '-map', '[j]', '-c:v', 'mjpeg', '-q:v', '5', '-f', 'image2pipe', 'pipe:4',
    ];
    const enc = new FfmpegProcess({
      args,
      log: this.log,
      name: 'live-encoder',
      stdin: 'pipe',
      extraPipes: 2,
      ...(this.o.ffmpegPath ? { binary: { path: this.o.ffmpegPath } } : {}),
    });
    this.encoder = enc;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`live encoder gave no parameter sets within ${this.o.startTimeoutMs} ms: ${enc.stderrTail().slice(-3).join(' | ')}`)), this.o.startTimeoutMs);
      const check = () => {
        if (this.mainConfig && this.subConfig) {
          clearTimeout(timer);
          resolve();
        }
      };
      this.onConfigReady = check;
      enc.once('startFailed', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      enc.once('exit', () => {
        clearTimeout(timer);
        if (!this.mainConfig || !this.subConfig) reject(enc.exitError());
      });
    });
    enc.on('died', (err) => {
      if (this.mainConfig && this.subConfig && !this.closed) {
        this.log.error({ err }, 'live encoder died');
        this.stopTimers();
        safeEmit(this, this.log, 'died', err);
      }
    });
    enc.on('exit', () => this.stopTimers());
    enc.start();
    if (!enc.stdin) return ready; // start failed: `ready` rejects
    const onConfig = (which: 'main' | 'sub') => (config: AvcConfig) => {
      if (which === 'main') this.mainConfig = config;
      else this.subConfig = config;
      if (this.mainConfig && this.subConfig) this.onConfigReady?.();
    };
    const main = new FlvH264Demuxer(onConfig('main'), (au) => this.onAccessUnit('main', au));
    const sub = new FlvH264Demuxer(onConfig('sub'), (au) => this.onAccessUnit('sub', au));
    const jpeg = new JpegSplitter((image) => (this.snapshot = image));
    const guard = (what: string, fn: (c: Buffer) => void) => (chunk: Buffer) => {
      try {
        fn(chunk);
      } catch (err) {
        this.log.error({ err, what }, 'cannot parse encoder output');
        void enc.close();
      }
    };
    enc.stdout!.on('data', guard('main', (c) => main.push(c)));
    enc.pipe(3).on('data', guard('sub', (c) => sub.push(c)));
    enc.pipe(4).on('data', guard('snapshot', (c) => jpeg.push(c)));

    this.t0 = Date.now();
    this.renderFrame();
    const aac = this.aac;
    this.pacer = new AudioPacer(
      [
        { codec: 'aac', sampleRate: aac.sampleRate, samplesPerFrame: 1024, frames: aac.tone, silentFrame: aac.silent },
        { codec: 'pcma', sampleRate: 8000, samplesPerFrame: PCMA_SAMPLES_PER_FRAME, frames: [this.pcma.tone], silentFrame: this.pcma.silent },
      ],
      (frame) => safeEmit(this, this.log, 'audio', frame),
    );
    try {
      await ready;
    } catch (err) {
      await this.close();
      throw err;
    }
    this.pacer.start();
    this.log.info({ width, height, fps, sub: `${subWidth}x${subHeight}` }, 'live media source started');
  }

  private stopTimers(): void {
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.frameTimer = null;
    this.pacer?.stop();
  }

  private renderFrame(): void {
    this.frameTimer = null;
    if (this.closed || !this.encoder?.stdin) return;
    const stdin = this.encoder.stdin;
    const captureTimeMs = Date.now();
    // Never queue frames behind a slow encoder: skip this one (its capture time is simply absent).
    if (stdin.writableLength > 2 * this.renderer.frameSize) {
      this.framesDropped++;
    } else {
      const idx = this.framesWritten++;
      this.captureTimes.set(idx, captureTimeMs);
      stdin.write(this.renderer.render(captureTimeMs));
    }
    const frameMs = 1000 / this.o.fps;
    this.tick++;
    let due = this.t0 + this.tick * frameMs;
    const now = Date.now();
    if (now - due > frameMs) {
      // Event loop stalled: realign instead of rendering a burst of frames.
      this.tick = Math.floor((now - this.t0) / frameMs) + 1;
      due = this.t0 + this.tick * frameMs;
    }
    this.frameTimer = setTimeout(() => this.renderFrame(), Math.max(0, due - now));
  }

  private onAccessUnit(which: 'main' | 'sub', au: FlvAccessUnit): void {
    // ffmpeg timestamps frame k at k / fps: the pts identifies the input frame exactly.
    const idx = Math.round((au.ptsMs * this.o.fps) / 1000);
    const captureTimeMs = this.captureTimes.get(idx);
    if (captureTimeMs === undefined) {
      this.log.warn({ which, idx }, 'access unit without a capture time, dropped');
      return;
    }
    // Both streams read the table; forget frames both have passed.
    if (which === 'sub') for (const k of this.captureTimes.keys()) {
      if (k > idx - 50) break;
      this.captureTimes.delete(k);
    }
    const config = which === 'main' ? this.mainConfig : this.subConfig;
    // In-band parameter sets before every keyframe, as cameras send them: a client may join anywhere.
    const nalUnits = au.keyframe && config ? [config.sps, config.pps, ...au.nalUnits] : au.nalUnits;
    const unit: VideoAccessUnit = { nalUnits, keyframe: au.keyframe, captureTimeMs };
    safeEmit(this, this.log, which, unit);
  }
}
