import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger.ts';
import { FfmpegProcess } from '../shared/ffmpeg/ffmpeg-process.ts';

/** The payload type of the Opus RTP the transcoder produces (the viewer's sender rewrites it anyway). */
export const OPUS_PAYLOAD_TYPE = 111;
/** Most bytes waiting in ffmpeg's stdin before camera audio is dropped (~1 s of AAC at 128 kbit/s is 16 KiB). */
const MAX_PENDING_BYTES = 64 * 1024;

/** A camera's audio as its SDP describes it, in the forms the transcoder can take. */
export type CameraAudio =
  | { codec: 'aac'; payloadType: number; config: Buffer; sizeLength: number; indexLength: number }
  | { codec: 'pcma' | 'pcmu'; payloadType: number; sampleRate: number; channels: number };

/** The camera's audio track from its SDP, or null when it has none the transcoder can read. */
export function cameraAudio(sdp: string): CameraAudio | null {
  const section = sdp.split(/\r?\nm=/).find((s) => s.startsWith('audio'));
  if (!section) return null;
  const payloadType = Number(section.split(/\s/)[3]);
  if (!Number.isInteger(payloadType)) return null;
  const rtpmap = new RegExp(`a=rtpmap:${payloadType} ([^/\\s]+)/(\\d+)(?:/(\\d+))?`).exec(section);
  const name = (rtpmap?.[1] ?? (payloadType === 8 ? 'PCMA' : payloadType === 0 ? 'PCMU' : '')).toLowerCase();
  if (name === 'mpeg4-generic') {
    const fmtp = new RegExp(`a=fmtp:${payloadType} (.*)`).exec(section)?.[1] ?? '';
    const param = (key: string) => new RegExp(`(?:^|;)\\s*${key}=([^;\\s]+)`, 'i').exec(fmtp)?.[1];
    const config = param('config');
    if (!config || !/^AAC-hbr$/i.test(param('mode') ?? 'AAC-hbr')) return null;
    return { codec: 'aac', payloadType, config: Buffer.from(config, 'hex'), sizeLength: Number(param('sizelength') ?? 13), indexLength: Number(param('indexlength') ?? 3) };
  }
  if (name === 'pcma' || name === 'pcmu') {
    return { codec: name, payloadType, sampleRate: Number(rtpmap?.[2] ?? 8000), channels: Number(rtpmap?.[3] ?? 1) };
  }
  return null;
}

/** The access units of one RFC 3640 (AAC-hbr) RTP payload; [] for a fragment or a malformed one. */
export function aacAccessUnits(payload: Buffer, sizeLength: number, indexLength: number): Buffer[] {
  if (payload.length < 2 || sizeLength + indexLength !== 16) return [];
  const headerBytes = Math.ceil(payload.readUInt16BE(0) / 8);
  let data = 2 + headerBytes;
  const units: Buffer[] = [];
  for (let h = 2; h + 2 <= 2 + headerBytes; h += 2) {
    const size = payload.readUInt16BE(h) >> indexLength;
    if (data + size > payload.length) return [];
    units.push(payload.subarray(data, data + size));
    data += size;
  }
  return units;
}

/** A 7-byte ADTS header for one AAC access unit, from the AudioSpecificConfig. */
export function adtsHeader(config: Buffer, auLength: number): Buffer {
  const objectType = config[0]! >> 3;
  const frequencyIndex = ((config[0]! & 0x07) << 1) | (config[1]! >> 7);
  const channels = (config[1]! >> 3) & 0x0f;
  const length = auLength + 7;
  return Buffer.from([
    0xff,
    0xf1,
    (((objectType - 1) & 0x03) << 6) | ((frequencyIndex & 0x0f) << 2) | ((channels >> 2) & 0x01),
    ((channels & 0x03) << 6) | ((length >> 11) & 0x03),
    (length >> 3) & 0xff,
    ((length & 0x07) << 5) | 0x1f,
    0xfc,
  ]);
}

export interface LiveAudioEvents {
  /** One Opus RTP packet. */
  opus: [Buffer];
  /** ffmpeg ended on its own; the owner may start another. */
  died: [Error];
}

/**
 * One camera's audio transcoded to Opus for WebRTC viewers: camera RTP in (depacketized here and
 * written to ffmpeg's stdin as ADTS or raw G.711), Opus RTP out over loopback UDP. Runs only while
 * the camera has viewers. A stalled ffmpeg loses audio, never blocks its caller.
 */
export class LiveAudioTranscoder extends EventEmitter<LiveAudioEvents> {
  private readonly udp: UdpSocket = createSocket('udp4');
  private proc: FfmpegProcess | null = null;
  private closed = false;

  constructor(
    readonly audio: CameraAudio,
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
    this.udp.on('error', (err) => this.log.debug({ err }, 'opus socket error'));
    this.udp.on('message', (msg) => {
      // RTCP shares the port (rtcpport): only RTP goes on.
      if (msg.length >= 12 && (msg[1]! < 200 || msg[1]! > 204)) this.emit('opus', msg);
    });
    if (this.closed) return;
    const port = this.udp.address().port;
    const input =
      this.audio.codec === 'aac'
        ? ['-f', 'aac']
        : ['-f', this.audio.codec === 'pcma' ? 'alaw' : 'mulaw', '-ar', String(this.audio.sampleRate), '-ac', String(this.audio.channels)];
    this.proc = new FfmpegProcess({
      name: 'live-opus',
      log: this.log,
      stdin: 'pipe',
      stdout: 'ignore',
      args: [
        '-hide_banner', '-nostats', '-loglevel', 'warning',
        '-fflags', 'nobuffer', '-probesize', '32', '-analyzeduration', '0',
        ...input, '-i', 'pipe:0',
        '-vn', '-c:a', 'libopus', '-b:a', '48k', '-ar', '48000', '-ac', '2', '-application', 'lowdelay', '-frame_duration', '20',
        '-flush_packets', '1',
        '-f', 'rtp', '-payload_type', String(OPUS_PAYLOAD_TYPE), `rtp://127.0.0.1:${port}?rtcpport=${port}&pkt_size=1200`,
      ],
    });
    this.proc.on('died', (err) => {
      if (!this.closed) this.emit('died', err);
    });
    this.proc.on('startFailed', (err) => {
      if (!this.closed) this.emit('died', err);
    });
    this.proc.start();
  }

  /** One camera audio RTP packet (the whole packet, header included). */
  write(packet: Buffer): void {
    const stdin = this.proc?.stdin;
    if (!stdin || this.closed || !stdin.writable || stdin.writableLength > MAX_PENDING_BYTES || packet.length < 12) return;
    const headerLength = 12 + 4 * (packet[0]! & 0x0f) + (packet[0]! & 0x10 ? 4 + 4 * packet.readUInt16BE(14 + 4 * (packet[0]! & 0x0f)) : 0);
    if ((packet[1]! & 0x7f) !== this.audio.payloadType || headerLength >= packet.length) return;
    const payload = packet.subarray(headerLength);
    if (this.audio.codec === 'aac') {
      for (const unit of aacAccessUnits(payload, this.audio.sizeLength, this.audio.indexLength)) {
        stdin.write(Buffer.concat([adtsHeader(this.audio.config, unit.length), unit]));
      }
    } else {
      stdin.write(Buffer.from(payload));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners('opus');
    try {
      this.udp.close();
    } catch {
      // not bound yet
    }
    await this.proc?.close();
  }
}
