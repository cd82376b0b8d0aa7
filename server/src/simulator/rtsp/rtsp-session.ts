import { randomBytes, randomInt } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { rtpHeader, senderReport, type RtpPayload } from './rtp-packetizer.ts';

export type TrackTransport =
  | { kind: 'tcp'; rtpChannel: number; rtcpChannel: number }
  | { kind: 'udp'; host: string; rtpPort: number; rtcpPort: number };

/** One RTP stream of a session: its own SSRC, sequence numbers and timestamp offset. */
export class RtpTrack {
  readonly ssrc = randomInt(1, 2 ** 31);
  seq = randomInt(0, 0xffff);
  /** RTP time = offset + capture time (ms) × clockRate / 1000, modulo 2^32. */
  readonly offset = randomInt(0, 2 ** 31);
  packets = 0;
  octets = 0;
  /** Video waits for a keyframe after PLAY and after a drop for a slow client. */
  waitingKeyframe = true;

  constructor(
    readonly trackId: number,
    readonly payloadType: number,
    readonly clockRate: number,
    readonly transport: TrackTransport,
  ) {}

  rtpTime(captureTimeMs: number): number {
    return (this.offset + Math.round((captureTimeMs * this.clockRate) / 1000)) % 2 ** 32;
  }
}

export interface SessionIo {
  udpRtp: UdpSocket | null;
  udpRtcp: UdpSocket | null;
  maxBufferedBytes: number;
  onDropped(packets: number): void;
}

/**
 * One RTSP session: a path, its tracks and where their packets go. Packets for TCP clients are
 * interleaved on the RTSP connection; a client whose socket buffer is over the bound loses whole
 * frames instead of holding up the others.
 */
export class RtspSession {
  readonly id = randomBytes(8).toString('hex').toUpperCase();
  readonly tracks = new Map<number, RtpTrack>();
  playing = false;
  lastActivity = Date.now();

  constructor(
    readonly path: 'main' | 'sub',
    readonly socket: Socket,
    private readonly io: SessionIo,
  ) {}

  touch(): void {
    this.lastActivity = Date.now();
  }

  get transportKind(): 'tcp' | 'udp' {
    return [...this.tracks.values()][0]?.transport.kind ?? 'tcp';
  }

  /** Sends one frame's payloads on a track; returns false when dropped for a slow client. */
  sendFrame(track: RtpTrack, payloads: RtpPayload[], captureTimeMs: number, keyframe: boolean): boolean {
    if (track.trackId === 0) {
      if (track.waitingKeyframe && !keyframe) return false;
    }
    const t = track.transport;
    if (t.kind === 'tcp' && this.socket.writableLength > this.io.maxBufferedBytes) {
      if (track.trackId === 0) track.waitingKeyframe = true;
      this.io.onDropped(payloads.length);
      return false;
    }
    if (track.trackId === 0) track.waitingKeyframe = false;
    const timestamp = track.rtpTime(captureTimeMs);
    if (t.kind === 'tcp') this.socket.cork();
    for (const p of payloads) {
      const header = rtpHeader({ payloadType: track.payloadType, marker: p.marker, seq: track.seq, timestamp, ssrc: track.ssrc });
      track.seq = (track.seq + 1) & 0xffff;
      let size = 0;
      for (const part of p.parts) size += part.length;
      track.packets++;
      track.octets += size;
      this.send(t, false, [header, ...p.parts], 12 + size);
    }
    if (t.kind === 'tcp') process.nextTick(() => this.socket.uncork());
    return true;
  }

  /** RTCP sender report for each track: `ntpMs` is the camera's clock, the RTP time is the capture clock. */
  sendReports(nowMs: number, cameraNowMs: number, cname: string): void {
    for (const track of this.tracks.values()) {
      const sr = senderReport({ ssrc: track.ssrc, ntpMs: cameraNowMs, rtpTime: track.rtpTime(nowMs), packets: track.packets, octets: track.octets, cname });
      this.send(track.transport, true, [sr], sr.length);
    }
  }

  private send(t: TrackTransport, rtcp: boolean, parts: Buffer[], size: number): void {
    if (t.kind === 'tcp') {
      if (this.socket.destroyed || !this.socket.writable) return;
      const prefix = Buffer.from([0x24, rtcp ? t.rtcpChannel : t.rtpChannel, size >> 8, size & 0xff]);
      this.socket.write(prefix);
      for (const part of parts) this.socket.write(part);
    } else {
      const sock = rtcp ? this.io.udpRtcp : this.io.udpRtp;
      sock?.send(parts, rtcp ? t.rtcpPort : t.rtpPort, t.host, () => undefined);
    }
  }
}
