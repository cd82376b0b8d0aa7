import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { CameraCredentials } from '../cameras/camera-probe.types.ts';
import { ffmpegBinary, rtspTimeoutArgs } from '../shared/ffmpeg/ffmpeg-binary.ts';
import { FfmpegProcess } from '../shared/ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../shared/logger.ts';

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 10_000;

export interface SubStreamSource {
  /** The camera's sub stream, rtsp://. */
  url: string;
  credentials: CameraCredentials | null;
}

export interface SubStreamPullEvents {
  /** One H.264 RTP packet of the sub stream (SPS/PPS repeated before every keyframe). */
  rtp: [Buffer];
}

/**
 * The light extra pull of a camera's sub stream for grid tiles, only while someone watches it: one
 * supervised ffmpeg (RTSP over TCP, video copied, SPS/PPS put in-band before each keyframe,
 * packetized as RTP to a loopback socket). Restarts with backoff until closed. Nothing here touches
 * the recording ingest of the main stream.
 */
export class SubStreamPull extends EventEmitter<SubStreamPullEvents> {
  private readonly udp: UdpSocket = createSocket('udp4');
  private proc: FfmpegProcess | null = null;
  private closed = false;
  private attempts = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly cameraId: string,
    private readonly source: SubStreamSource,
    private readonly log: Logger,
  ) {
    super();
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.udp.once('error', reject);
      this.udp.bind(0, '127.0.0.1', () => {
        this.udp.off('error', reject);
        resolve();
      });
    });
    this.udp.on('error', (err) => this.log.debug({ err }, 'sub stream socket error'));
    this.udp.on('message', (msg, from) => {
      // RTP from the loopback ffmpeg only; RTCP shares the port (rtcpport) and stays here.
      if (from.address !== '127.0.0.1' || msg.length < 12 || (msg[1]! >= 200 && msg[1]! <= 204)) return;
      if (msg.length > 0) this.attempts = 0;
      this.emit('rtp', msg);
    });
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    let input: string;
    try {
      input = await this.inputUrl();
    } catch (err) {
      this.log.warn({ err, camera: this.cameraId }, 'sub stream host not resolved');
      this.retry();
      return;
    }
    if (this.closed) return;
    const binary = ffmpegBinary();
    const port = this.udp.address().port;
    const proc = new FfmpegProcess({
      name: `live-sub-${this.cameraId}`,
      binary: { path: binary.path },
      log: this.log,
      stdout: 'ignore',
      args: [
        '-hide_banner', '-nostats', '-nostdin', '-loglevel', 'warning',
        '-rtsp_transport', 'tcp', ...rtspTimeoutArgs(10_000_000, binary),
        '-i', input,
        '-map', '0:v:0', '-an', '-c:v', 'copy', '-bsf:v', 'dump_extra=freq=keyframe',
        '-f', 'rtp', '-payload_type', '96', `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=1200`,
      ],
    });
    this.proc = proc;
    proc.on('died', (err) => {
      this.log.warn({ err, camera: this.cameraId }, 'sub stream pull died');
      this.retry();
    });
    proc.on('exit', () => {
      // A clean exit (the camera ended the stream) is retried too.
      if (!this.closed && this.proc === proc) this.retry();
    });
    proc.on('startFailed', () => this.retry());
    proc.start();
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    this.proc = null;
    const delay = Math.min(BACKOFF_START_MS * 2 ** this.attempts, BACKOFF_CAP_MS);
    this.attempts++;
    this.timer = setTimeout(() => void this.spawn(), delay);
  }

  /** The bundled 2018 ffmpeg crashes resolving host names: it gets an IP literal. */
  private async inputUrl(): Promise<string> {
    const url = new URL(this.source.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const ip = isIP(host) ? host : (await lookup(host)).address;
    const user = this.source.credentials
      ? `${encodeURIComponent(this.source.credentials.username)}:${encodeURIComponent(this.source.credentials.password)}@`
      : '';
    const hostPart = isIP(ip) === 6 ? `[${ip}]` : ip;
    return `rtsp://${user}${hostPart}${url.port ? `:${url.port}` : ''}${url.pathname}${url.search}`;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.removeAllListeners('rtp');
    try {
      this.udp.close();
    } catch {
      // not bound
    }
    await this.proc?.close();
  }
}
