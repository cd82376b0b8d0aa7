import { EventEmitter } from 'node:events';
import type { Logger } from '../../shared/logger.ts';
import { FfmpegProcess, runFfmpeg } from '../../shared/ffmpeg/ffmpeg-process.ts';
import { AudioPacer, type PacedAudioTrack } from './audio-pacer.ts';
import { PCMA_SAMPLES_PER_FRAME, parseAdts, preparePcma } from './audio-frames.ts';
import { groupAccessUnits, isKeyframe, nalType, NAL_PPS, NAL_SPS, spsDimensions, splitAnnexB } from './h264-nal.ts';
import type { LoopMediaSourceOptions } from './loop-media-source.types.ts';
import type {
  AudioCodec,
  AudioStreamInfo,
  MediaSource,
  MediaSourceEvents,
  MediaSourceInfo,
  VideoStreamInfo,
} from './media-source.types.ts';
import { safeEmit, simulatorLogger } from './safe-emit.ts';

export type { LoopMediaSourceOptions, LoopClipOptions } from './loop-media-source.types.ts';
export { createLoopClip } from './loop-clip.ts';

interface LoadedVideo {
  info: VideoStreamInfo;
  units: { nalUnits: Buffer[]; keyframe: boolean }[];
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
}

/**
 * Loop mode: a pre-encoded clip read once into memory (video copied, Annex B), whose access units
 * are replayed at the clip's frame rate with wall-clock capture times. Costs a timer per frame and
 * no codec, however many cameras it feeds. Assumes decode order = presentation order (no B-frames),
 * which `createLoopClip` guarantees.
 */
export class LoopMediaSource extends EventEmitter<MediaSourceEvents> implements MediaSource {
  private readonly log: Logger;
  private main: LoadedVideo | null = null;
  private sub: LoadedVideo | null = null;
  private audio: { config: Buffer; sampleRate: number; channels: number; frames: Buffer[]; silent: Buffer } | null = null;
  private readonly pcma = preparePcma();
  private snapshot: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pacer: AudioPacer | null = null;
  private started: Promise<void> | null = null;
  private closed = false;
  private readonly reading = new Set<FfmpegProcess>();

  constructor(private readonly options: LoopMediaSourceOptions) {
    super();
    this.setMaxListeners(0);
    if (!options.file) throw new TypeError('LoopMediaSource: file is required');
    this.log = simulatorLogger(options.log, { media: 'loop' });
  }

  start(): Promise<void> {
    this.started ??= this.load().then(() => this.play());
    return this.started;
  }

  info(): MediaSourceInfo {
    const audio = this.audioInfo(this.options.audio ?? 'aac');
    if (!this.main || !this.sub || !audio) throw new Error('LoopMediaSource: info() before start() resolved');
    return { main: this.main.info, sub: this.sub.info, audio };
  }

  audioInfo(codec: AudioCodec): AudioStreamInfo | null {
    if (codec === 'pcma') return { codec, sampleRate: 8000, channels: 1 };
    return this.audio ? { codec, sampleRate: this.audio.sampleRate, channels: this.audio.channels, config: this.audio.config } : null;
  }

  latestSnapshot(): Buffer | null {
    return this.snapshot;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.pacer?.stop();
    await Promise.all([...this.reading].map((p) => p.close()));
  }

  private ff(): { binary?: { path: string } } {
    return this.options.ffmpegPath ? { binary: { path: this.options.ffmpegPath } } : {};
  }

  private async load(): Promise<void> {
    const { file } = this.options;
    const probe = await runFfmpeg({
      log: this.log,
      name: 'loop-probe',
      binary: 'ffprobe',
      timeoutMs: 20_000,
      args: ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,r_frame_rate,avg_frame_rate,sample_rate,channels', '-of', 'json', file],
    });
    const streams = ((JSON.parse(probe.stdout.toString('utf8')) as { streams?: ProbeStream[] }).streams ?? []);
    const videos = streams.filter((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    if (!videos[0] || videos[0].codec_name !== 'h264') throw new Error(`${file}: loop mode needs an H.264 video stream`);
    const fps = parseRate(videos[0].avg_frame_rate) ?? parseRate(videos[0].r_frame_rate) ?? 25;

    const copyVideo = (index: number) => ['-map', `0:v:${index}`, '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264'];
    const audioArgs = audio
      ? ['-map', '0:a:0', ...(audio.codec_name === 'aac' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '64k']), '-f', 'adts', 'pipe:4']
      : [];
    const args = [
      '-hide_banner', '-nostats', '-loglevel', 'error', '-i', file,
      ...copyVideo(0), 'pipe:1',
      ...(videos[1] ? [...copyVideo(1), 'pipe:3'] : []),
      ...audioArgs,
      '-map', '0:v:0', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '5', '-pix_fmt', 'yuvj420p', '-f', 'image2pipe', 'pipe:5',
    ];
    const proc = new FfmpegProcess({ args, log: this.log, name: 'loop-reader', extraPipes: 3, ...this.ff() });
    this.reading.add(proc);
    let startError: Error | null = null;
    proc.once('startFailed', (err) => (startError = err));
    proc.start();
    const collect = (stream: NodeJS.ReadableStream | null) => {
      const chunks: Buffer[] = [];
      const done = new Promise<Buffer>((resolve) => {
        if (!stream) return resolve(Buffer.alloc(0));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.once('close', () => resolve(Buffer.concat(chunks)));
      });
      return done;
    };
    const outputs = proc.running || proc.pid ? [proc.stdout, proc.pipe(3), proc.pipe(4), proc.pipe(5)].map(collect) : [];
    const info = await proc.done();
    this.reading.delete(proc);
    if (startError) throw startError;
    if (info.code !== 0) throw proc.exitError();
    const [mainBuf, subBuf, adts, jpeg] = await Promise.all(outputs);
    this.main = toLoadedVideo(mainBuf!, fps, file);
    this.sub = videos[1] && subBuf!.length ? toLoadedVideo(subBuf!, fps, file) : this.main;
    this.snapshot = jpeg && jpeg.length ? jpeg : null;
    if (adts && adts.length) {
      const parsed = parseAdts(adts);
      const silent = await this.silentAac(parsed.sampleRate, parsed.channels);
      this.audio = { config: parsed.config, sampleRate: parsed.sampleRate, channels: parsed.channels, frames: parsed.frames, silent };
    } else {
      this.log.warn({ file }, 'clip has no audio: only the A-law tone is offered');
    }
    this.log.info({ file, fps, mainUnits: this.main.units.length, subUnits: this.sub.units.length, audioFrames: this.audio?.frames.length ?? 0 }, 'loop clip loaded');
  }

  private async silentAac(sampleRate: number, channels: number): Promise<Buffer> {
    const out = await runFfmpeg({
      log: this.log,
      name: 'loop-silence',
      timeoutMs: 20_000,
      ...this.ff(),
      args: ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'lavfi', '-i', `anullsrc=r=${sampleRate}:cl=${channels === 1 ? 'mono' : 'stereo'}`, '-t', '1',
        '-c:a', 'aac', '-b:a', '64k', '-f', 'adts', 'pipe:1'],
    });
    const frames = parseAdts(out.stdout).frames;
    const frame = frames[Math.min(frames.length - 1, 20)];
    if (!frame) throw new Error('cannot encode silent AAC');
    return frame;
  }

  private play(): void {
    if (this.closed || !this.main || !this.sub) return;
    const main = this.main;
    const sub = this.sub;
    const frameMs = 1000 / main.info.fps;
    const t0 = Date.now();
    let n = 0;
    const tick = () => {
      this.timer = null;
      if (this.closed) return;
      const now = Date.now();
      // After a stall, skip ahead (to a keyframe-safe restart: the loop start) rather than burst.
      if (now - (t0 + n * frameMs) > 10 * frameMs) n = Math.ceil((now - t0) / frameMs / main.units.length) * main.units.length;
      while (t0 + n * frameMs <= now) {
        const captureTimeMs = t0 + n * frameMs;
        const m = main.units[n % main.units.length]!;
        safeEmit(this, this.log, 'main', { nalUnits: m.nalUnits, keyframe: m.keyframe, captureTimeMs });
        const s = sub.units[n % sub.units.length]!;
        safeEmit(this, this.log, 'sub', { nalUnits: s.nalUnits, keyframe: s.keyframe, captureTimeMs });
        n++;
      }
      this.timer = setTimeout(tick, Math.max(0, t0 + n * frameMs - Date.now()));
    };
    tick();
    const tracks: PacedAudioTrack[] = [
      { codec: 'pcma', sampleRate: 8000, samplesPerFrame: PCMA_SAMPLES_PER_FRAME, frames: [this.pcma.tone], silentFrame: this.pcma.silent },
    ];
    if (this.audio) tracks.push({ codec: 'aac', sampleRate: this.audio.sampleRate, samplesPerFrame: 1024, frames: this.audio.frames, silentFrame: this.audio.silent });
    this.pacer = new AudioPacer(tracks, (frame) => safeEmit(this, this.log, 'audio', frame));
    this.pacer.start(t0);
  }
}

function parseRate(rate: string | undefined): number | null {
  if (!rate) return null;
  const [a, b] = rate.split('/').map(Number);
  const v = b ? (a ?? 0) / b : (a ?? 0);
  return Number.isFinite(v) && v > 0 && v < 200 ? v : null;
}

function toLoadedVideo(annexB: Buffer, fps: number, file: string): LoadedVideo {
  const aus = groupAccessUnits(splitAnnexB(annexB));
  const first = aus.findIndex(isKeyframe);
  if (first < 0) throw new Error(`${file}: no keyframe in the clip`);
  const kept = aus.slice(first);
  const all = kept.flat();
  const sps = all.find((n) => nalType(n) === NAL_SPS);
  const pps = all.find((n) => nalType(n) === NAL_PPS);
  if (!sps || !pps) throw new Error(`${file}: no SPS/PPS in the clip`);
  const units = kept.map((nals) => {
    const keyframe = isKeyframe(nals);
    // Parameter sets in-band before every keyframe, so a client can start at any loop.
    const hasSps = nals.some((n) => nalType(n) === NAL_SPS);
    return { nalUnits: keyframe && !hasSps ? [sps, pps, ...nals] : nals, keyframe };
  });
  const { width, height } = spsDimensions(sps);
  return { info: { width, height, fps, sps, pps }, units };
}
