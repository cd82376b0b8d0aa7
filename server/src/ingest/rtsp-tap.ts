import { EventEmitter } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../shared/logger.ts';

/**
 * A loopback TCP relay between ffmpeg and one camera's RTSP server (RTSP over TCP, interleaved
 * RTP/RTCP). It forwards every byte and reads along: which interleaved channel carries which
 * stream (SDP + SETUP), the arrival of RTP packets (gap detection without trusting ffmpeg), and the
 * camera's RTCP sender reports (the RTP → camera-clock mapping).
 *
 * Why a relay: ffmpeg does not tell which capture instant its pts stand for (`-write_prft pts` does
 * not carry RTCP time, ffmpeg 5.1). ffmpeg's RTP demuxer maps pts to the first sender report it
 * sees: pts = (NTP(packet) − NTP(first SR)) for every stream once each stream has had an SR, as
 * long as the PLAY reply's RTP-Info carries no rtptime (which the relay removes). So the
 * relay holds the first media of a connection until it has a sender report for every stream, then
 * sends ffmpeg, before any media, one synthetic sender report per stream that all carry the SAME
 * NTP instant (the anchor: the capture time of the earliest held packet, each stream's RTP time
 * derived from its own real report). From then on, in both the 2018 build and 5.1, a pts of p
 * seconds (with `-copyts`) is the camera-clock instant anchor + p, and later real reports keep
 * ffmpeg following the camera's clock. Without sender reports in time, all RTCP is withheld from
 * ffmpeg (so its timeline never jumps) and the anchor is the arrival of the first video packet.
 */

export interface TapTrack {
  kind: 'video' | 'audio' | 'other';
  clockRate: number;
  control: string;
  /** Interleaved channel of its RTP; RTCP is rtpChannel + 1. */
  rtpChannel: number;
}

export interface TapAnchor {
  source: 'rtcp' | 'arrival';
  /**
   * For 'rtcp': the camera-clock instant (epoch ms) of pts 0. For 'arrival': the server-clock
   * arrival instant of the first video packet, which ffmpeg gives pts 0.
   */
  ptsZeroMs: number;
}

export interface RtspTapEvents {
  /** ffmpeg connected and the camera accepted the relayed connection. */
  connected: [];
  /** The relayed connection to the camera could not be made. */
  upstreamFailed: [Error];
  /** The camera (or the network) closed the connection. */
  upstreamClosed: [reason: string];
  /** The media timeline of this connection is known. */
  anchor: [TapAnchor];
  /** Minimum (arrival − camera capture time) of video over the last window, ms, camera clock. */
  latency: [ms: number];
  /** An RTP packet from the camera (emitted only while somebody listens): live consumers. */
  rtp: [RtpFromCamera];
}

export interface RtpFromCamera {
  track: TapTrack;
  /** The RTP packet as the camera sent it (without the 4-byte interleave header). Do not modify. */
  packet: Buffer;
  /** The camera's SDP of this connection (payload types, sprop-parameter-sets). */
  sdp: string;
}

export interface RtspTapOptions {
  /** Camera RTSP address: an IP literal and port. */
  host: string;
  port: number;
  log: Logger;
  /** Hold media up to this long for sender reports; 0 = never wait (arrival time). */
  senderReportWaitMs: number;
  /** Server clock, epoch ms (arrival times). */
  nowMs?: () => number;
}

const NTP_EPOCH_OFFSET_S = 2_208_988_800;
const MAX_HELD_BYTES = 64 * 1024 * 1024;
const LATENCY_WINDOW_MS = 5000;
/** Reads land here and are copied out at once: one buffer serves every relay of the process. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/**
 * While passing through, camera reads are copied into one buffer and written to ffmpeg at most
 * this often: one write per ~360 RTP packets a second cost more than ffmpeg's own work (bench:record).
 * Arrival times are taken when read, and ffmpeg's timestamps come from RTP/RTCP, so holding the
 * bytes this long changes no time; live consumers get their packets as they are read.
 */
const PASS_THROUGH_FLUSH_MS = 100;
const PASS_THROUGH_BUFFER_BYTES = 256 * 1024;

interface SenderReport {
  ntpMs: number;
  rtp: number;
  ssrc: number;
  packets: number;
  octets: number;
}

interface TrackState extends TapTrack {
  firstRtp: number | null;
  sr: SenderReport | null;
}

export type RtspUnit = { kind: 'frame'; channel: number; raw: Buffer; payload: Buffer } | { kind: 'message'; raw: Buffer; head: string; body: Buffer };

/** Splits an RTSP-over-TCP byte stream into interleaved frames and RTSP messages. */
export class StreamSplitter {
  private pending: Buffer | null = null;
  constructor(private readonly onUnit: (u: RtspUnit) => void) {}

  /** No partial unit is waiting for the next chunk. */
  get idle(): boolean {
    return this.pending === null;
  }

  push(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (off < buf.length) {
      if (buf[off] === 0x24) {
        if (buf.length - off < 4) break;
        const len = buf.readUInt16BE(off + 2);
        if (buf.length - off < 4 + len) break;
        const raw = buf.subarray(off, off + 4 + len);
        this.onUnit({ kind: 'frame', channel: buf[off + 1]!, raw, payload: raw.subarray(4) });
        off += 4 + len;
        continue;
      }
      const end = buf.indexOf('\r\n\r\n', off, 'latin1');
      if (end < 0) {
        if (buf.length - off > 64 * 1024) {
          // Not RTSP: pass it on unparsed rather than buffer forever.
          this.onUnit({ kind: 'message', raw: buf.subarray(off), head: '', body: Buffer.alloc(0) });
          off = buf.length;
        }
        break;
      }
      const head = buf.toString('latin1', off, end);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const bodyLen = m ? Number(m[1]) : 0;
      if (buf.length < end + 4 + bodyLen) break;
      const raw = buf.subarray(off, end + 4 + bodyLen);
      this.onUnit({ kind: 'message', raw, head, body: raw.subarray(end + 4 - off) });
      off = end + 4 + bodyLen;
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off));
    buf = Buffer.alloc(0);
  }
}

interface SdpMedia {
  kind: TapTrack['kind'];
  clockRate: number;
  control: string;
}

export function parseSdpMedia(sdp: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const kindWord = section.split(' ')[0];
    const kind = kindWord === 'video' ? 'video' : kindWord === 'audio' ? 'audio' : 'other';
    const rate = /a=rtpmap:\d+ [^/\s]+\/(\d+)/.exec(section);
    const control = /a=control:(\S+)/.exec(section);
    out.push({ kind, clockRate: rate ? Number(rate[1]) : 90000, control: control?.[1] ?? '' });
  }
  return out;
}

function parseSenderReports(payload: Buffer): SenderReport[] {
  const out: SenderReport[] = [];
  let off = 0;
  while (off + 4 <= payload.length) {
    const pt = payload[off + 1]!;
    const words = payload.readUInt16BE(off + 2);
    const next = off + 4 * (words + 1);
    if (pt === 200 && off + 28 <= payload.length) {
      const msw = payload.readUInt32BE(off + 8);
      const lsw = payload.readUInt32BE(off + 12);
      out.push({
        ssrc: payload.readUInt32BE(off + 4),
        ntpMs: (msw - NTP_EPOCH_OFFSET_S) * 1000 + (lsw / 2 ** 32) * 1000,
        rtp: payload.readUInt32BE(off + 16),
        packets: payload.readUInt32BE(off + 20),
        octets: payload.readUInt32BE(off + 24),
      });
    }
    if (next <= off) break;
    off = next;
  }
  return out;
}

function syntheticSenderReport(channel: number, sr: SenderReport, ntpMs: number, rtp: number): Buffer {
  const b = Buffer.alloc(4 + 28);
  b[0] = 0x24;
  b[1] = channel;
  b.writeUInt16BE(28, 2);
  b[4] = 0x80; // V=2, no report blocks
  b[5] = 200;
  b.writeUInt16BE(6, 6);
  b.writeUInt32BE(sr.ssrc, 8);
  const secs = Math.floor(ntpMs / 1000);
  b.writeUInt32BE((secs + NTP_EPOCH_OFFSET_S) >>> 0, 12);
  b.writeUInt32BE(Math.min(2 ** 32 - 1, Math.round(((ntpMs - secs * 1000) / 1000) * 2 ** 32)) >>> 0, 16);
  b.writeUInt32BE(rtp >>> 0, 20);
  b.writeUInt32BE(sr.packets >>> 0, 24);
  b.writeUInt32BE(sr.octets >>> 0, 28);
  return b;
}

/**
 * ffmpeg's RTP receiver drops the first packet of each stream (sequence probation). For video that
 * is the start of the first keyframe, so ffmpeg would lose the whole first GOP and stamp the next
 * keyframe with a made-up pts. A primer packet (sequence − 1, same timestamp) takes that loss; its
 * payload is harmless if it is ever accepted: an H.264 filler NAL, else a copy of the packet.
 */
function primerFor(raw: Buffer, kind: TapTrack['kind']): Buffer {
  const headerLen = 4 + 12 + 4 * (raw[4]! & 0x0f);
  const payload = kind === 'video' ? Buffer.from([0x0c, 0xff, 0xff, 0x80]) : raw.subarray(headerLen);
  const b = Buffer.concat([raw.subarray(0, headerLen), payload]);
  b.writeUInt16BE(payload.length + headerLen - 4, 2);
  b[5] = b[5]! & 0x7f; // no marker
  b.writeUInt16BE((b.readUInt16BE(6) - 1) & 0xffff, 6);
  return b;
}

/**
 * The PLAY reply's RTP-Info without its `rtptime`s. ffmpeg counts pts from the RTP-Info rtptime
 * when it has one (base_timestamp), i.e. from the instant of PLAY, not from the first sender
 * report: a connection whose media starts after PLAY (a camera back from a stall, a keyframe
 * wait) would be stamped late by that wait. Without it ffmpeg counts from the first sender
 * report, which the relay sends at the anchor, and from the first packet when RTCP is withheld.
 */
function withoutRtpInfoTimes(u: Extract<RtspUnit, { kind: 'message' }>): Buffer {
  if (!/\r\nrtp-info:[^\r]*rtptime=/i.test(u.head)) return u.raw;
  const head = u.head.replace(/(\r\nrtp-info:)([^\r]*)/i, (_all, name: string, value: string) => name + value.replace(/;\s*rtptime=\d+/gi, ''));
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), u.body]);
}

/** Camera-clock ms of an RTP time by a sender report (RTP differences taken as signed 32 bit). */
function rtpToMs(sr: SenderReport, rtp: number, clockRate: number): number {
  return sr.ntpMs + (((rtp - sr.rtp) | 0) / clockRate) * 1000;
}

/** One relayed connection: its own tracks, hold queue and anchor. */
class TapConnection {
  private readonly tracks: TrackState[] = [];
  private sdp: SdpMedia[] = [];
  private sdpText = '';
  private setups = 0;
  private mode: 'setup' | 'holding' | 'rtcp' | 'arrival' = 'setup';
  private held: Buffer[] = [];
  private heldBytes = 0;
  private holdTimer: NodeJS.Timeout | null = null;
  private latencyMin = Infinity;
  private latencyWindowStart = 0;
  private firstVideoArrival: number | null = null;
  private readonly fromCameraSplitter: StreamSplitter;
  /** Interleaved channels whose first RTP packet went out after its primer. */
  private readonly primed = new Set<number>();
  /** While a chunk is passed through whole, its units are only read, not forwarded one by one. */
  private observing = false;
  /**
   * Once anchored on RTCP with every stream primed, the relay's output IS its input: every chunk goes
   * on whole from then on. Entered only between units and never left, because a unit split across
   * two chunks has its head already written whole; forwarding it again would corrupt the stream.
   */
  private passingThrough = false;
  /** Pass-through bytes not yet written to ffmpeg: outBuffer[outWritten, outEnd). */
  private outBuffer: Buffer | null = null;
  private outWritten = 0;
  private outEnd = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /** Server-clock arrival of the chunk being read: every unit in it arrived then. */
  private chunkArrivalMs = 0;
  private waitingForDrain = false;
  lastMediaAt: number | null = null;
  anchor: TapAnchor | null = null;
  closed = false;

  constructor(
    private readonly tap: RtspTap,
    private readonly down: Socket,
    private readonly up: Socket,
    private readonly o: RtspTapOptions,
    private readonly now: () => number,
  ) {
    this.fromCameraSplitter = new StreamSplitter((u) => this.fromCamera(u));
    const fromFfmpeg = new StreamSplitter((u) => this.fromFfmpeg(u));
    down.on('data', (chunk: Buffer) => {
      if (!up.write(chunk)) {
        down.pause();
        up.once('drain', () => down.resume());
      }
      fromFfmpeg.push(chunk);
    });
  }

  /**
   * One read from the camera (`data` is the caller's reused read buffer: copied here). Every unit is
   * read along at once; in the steady state the bytes reach ffmpeg unchanged, batched (queueOut).
   * Reads are never delayed: arrival times must stay exact (ingest-time test).
   */
  fromCameraChunk(data: Uint8Array): void {
    if (this.closed) return;
    this.chunkArrivalMs = this.now();
    this.passingThrough ||= this.mode === 'rtcp' && this.fromCameraSplitter.idle && this.tracks.every((t) => this.primed.has(t.rtpChannel));
    if (this.passingThrough) {
      const chunk = this.queueOut(data);
      this.observing = true;
      try {
        this.fromCameraSplitter.push(chunk);
      } finally {
        this.observing = false;
      }
      return;
    }
    const chunk = Buffer.allocUnsafe(data.length);
    chunk.set(data);
    this.down.cork();
    try {
      this.fromCameraSplitter.push(chunk);
    } finally {
      this.down.uncork();
    }
    this.pauseCameraUntilDrained();
  }

  /**
   * Copies a pass-through read into the output buffer and returns that copy. A region once filled is
   * never reused: the copy can be read (and its RTP packets held by live consumers) after the write.
   */
  private queueOut(data: Uint8Array): Buffer {
    if (!this.outBuffer || this.outBuffer.length - this.outEnd < data.length) {
      this.flushOut();
      this.outBuffer = Buffer.allocUnsafeSlow(Math.max(PASS_THROUGH_BUFFER_BYTES, data.length));
      this.outWritten = this.outEnd = 0;
    }
    const start = this.outEnd;
    this.outBuffer.set(data, start);
    this.outEnd += data.length;
    this.flushTimer ??= setTimeout(() => this.flushOut(), PASS_THROUGH_FLUSH_MS);
    return this.outBuffer.subarray(start, this.outEnd);
  }

  private flushOut(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (this.closed || !this.outBuffer || this.outEnd === this.outWritten) return;
    this.down.write(this.outBuffer.subarray(this.outWritten, this.outEnd));
    this.outWritten = this.outEnd;
    this.pauseCameraUntilDrained();
  }

  private pauseCameraUntilDrained(): void {
    if (this.down.writableNeedDrain && !this.waitingForDrain) {
      this.waitingForDrain = true;
      this.up.pause();
      this.down.once('drain', () => {
        this.waitingForDrain = false;
        if (!this.closed) this.up.resume();
      });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.outBuffer = null;
    this.held = [];
    this.up.destroy();
    this.down.destroy();
  }

  private fromFfmpeg(u: RtspUnit): void {
    if (u.kind !== 'message' || !u.head.startsWith('SETUP ')) return;
    const url = u.head.split(' ')[1] ?? '';
    const transport = /\r\ntransport:([^\r\n]*)/i.exec(u.head)?.[1] ?? '';
    const inter = /interleaved=(\d+)/.exec(transport);
    if (!inter) return;
    const index = this.setups++;
    const media =
      this.sdp.find((m) => m.control && (url === m.control || url.endsWith(`/${m.control}`) || (m.control.includes('://') && url.endsWith(new URL(m.control).pathname)))) ??
      this.sdp[index];
    this.tracks.push({
      kind: media?.kind ?? 'other',
      clockRate: media?.clockRate ?? 90000,
      control: media?.control ?? '',
      rtpChannel: Number(inter[1]),
      firstRtp: null,
      sr: null,
    });
  }

  private fromCamera(u: RtspUnit): void {
    if (u.kind === 'message') {
      if (!this.sdp.length && /\r\ncontent-type:\s*application\/sdp/i.test(u.head)) {
        this.sdpText = u.body.toString('latin1');
        this.sdp = parseSdpMedia(this.sdpText);
      }
      return this.forward(withoutRtpInfoTimes(u));
    }
    const track = this.tracks.find((t) => t.rtpChannel === u.channel || t.rtpChannel + 1 === u.channel);
    const isRtcp = track ? track.rtpChannel + 1 === u.channel : u.channel % 2 === 1;
    if (isRtcp) {
      if (track) for (const sr of parseSenderReports(u.payload)) track.sr = sr;
      if (this.mode === 'holding' && this.tracks.every((t) => t.sr)) {
        this.held.push(u.raw);
        return this.release('rtcp');
      }
      if (this.mode === 'arrival') return; // ffmpeg's timeline must not jump to RTCP later
      return this.forward(u.raw);
    }
    // RTP
    const at = this.chunkArrivalMs;
    this.lastMediaAt = at;
    if (track && this.tap.listenerCount('rtp') > 0) this.tap.emitSafe('rtp', { track, packet: u.payload, sdp: this.sdpText });
    if (track && u.payload.length >= 12) {
      const rtp = u.payload.readUInt32BE(4);
      if (track.firstRtp === null) track.firstRtp = rtp;
      if (track.kind === 'video' && this.firstVideoArrival === null) {
        this.firstVideoArrival = at;
        if (this.mode === 'arrival' && !this.anchor) {
          this.anchor = { source: 'arrival', ptsZeroMs: at };
          this.tap.emitSafe('anchor', this.anchor);
        }
      }
      if (track.kind === 'video' && this.mode === 'rtcp' && track.sr && u.payload[1]! & 0x80) this.sampleLatency(at, rtpToMs(track.sr, rtp, track.clockRate));
    }
    if (this.mode === 'setup') {
      if (this.o.senderReportWaitMs <= 0) this.release('arrival');
      else {
        this.mode = 'holding';
        this.holdTimer = setTimeout(() => this.release('arrival'), this.o.senderReportWaitMs);
      }
    }
    if (this.mode === 'holding') {
      this.held.push(u.raw);
      this.heldBytes += u.raw.length;
      if (this.tracks.length && this.tracks.every((t) => t.sr)) this.release('rtcp');
      else if (this.heldBytes > MAX_HELD_BYTES) this.release('arrival');
      return;
    }
    if (this.mode === 'arrival' && this.beforeFirstVideo(track)) return;
    this.forwardRtp(u.raw);
  }

  /**
   * By arrival, ffmpeg counts each stream from its own first packet (no RTCP, no RTP-Info time):
   * audio is only passed on from the first video packet, so both streams start at one instant.
   */
  private beforeFirstVideo(track: TrackState | undefined): boolean {
    return track?.kind === 'audio' && this.firstVideoArrival === null && this.tracks.some((t) => t.kind === 'video');
  }

  private forward(raw: Buffer): void {
    if (!this.closed && !this.observing) this.down.write(raw);
  }

  /** Forwards an RTP frame, preceded by a primer when it is the first of its stream. */
  private forwardRtp(raw: Buffer): void {
    const ch = raw[1]!;
    if (!this.primed.has(ch) && raw.length >= 16) {
      this.primed.add(ch);
      const track = this.tracks.find((t) => t.rtpChannel === ch);
      this.forward(primerFor(raw, track?.kind ?? 'other'));
    }
    this.forward(raw);
  }

  private sampleLatency(arrival: number, captureCameraMs: number): void {
    this.latencyMin = Math.min(this.latencyMin, arrival - captureCameraMs);
    if (!this.latencyWindowStart) this.latencyWindowStart = arrival;
    if (arrival - this.latencyWindowStart >= LATENCY_WINDOW_MS) {
      const v = this.latencyMin;
      this.latencyMin = Infinity;
      this.latencyWindowStart = arrival;
      this.tap.emitSafe('latency', v);
    }
  }

  private release(mode: 'rtcp' | 'arrival'): void {
    if (this.mode === 'rtcp' || this.mode === 'arrival') return;
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    // Anchor at the first video frame: ffmpeg gives it pts 0 even when it leaves its pts unset.
    // Audio held from before it (the wait for a keyframe) is dropped: no segment could start there.
    const video = this.tracks.find((t) => t.kind === 'video' && t.sr && t.firstRtp !== null);
    const firsts = (video ? [video] : this.tracks.filter((t) => t.sr && t.firstRtp !== null)).map((t) => rtpToMs(t.sr!, t.firstRtp!, t.clockRate));
    const anchorMs = Math.floor(Math.min(...firsts));
    if (mode === 'rtcp' && !Number.isFinite(anchorMs)) mode = 'arrival';
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    if (mode === 'rtcp') {
      this.mode = 'rtcp';
      this.down.cork();
      for (const t of this.tracks) {
        const sr = t.sr!;
        const rtp = sr.rtp + Math.round(((anchorMs - sr.ntpMs) / 1000) * t.clockRate);
        this.down.write(syntheticSenderReport(t.rtpChannel + 1, sr, anchorMs, rtp));
      }
      for (const raw of held) {
        const track = this.tracks.find((t) => t.rtpChannel === raw[1]);
        if (video && track && track !== video && track.sr && raw.length >= 16 && rtpToMs(track.sr, raw.readUInt32BE(8), track.clockRate) < anchorMs) continue;
        if (track && raw[1] === track.rtpChannel) this.forwardRtp(raw);
        else this.down.write(raw);
      }
      this.down.uncork();
      this.anchor = { source: 'rtcp', ptsZeroMs: anchorMs };
    } else {
      this.mode = 'arrival';
      // Held RTCP is dropped: ffmpeg must stay on plain RTP time.
      this.down.cork();
      let videoSeen = !this.tracks.some((t) => t.kind === 'video');
      for (const raw of held) {
        const ch = raw[1]!;
        const rtcp = this.tracks.some((t) => t.rtpChannel + 1 === ch) || (!this.tracks.some((t) => t.rtpChannel === ch) && ch % 2 === 1);
        if (rtcp) continue;
        const kind = this.tracks.find((t) => t.rtpChannel === ch)?.kind;
        videoSeen ||= kind === 'video';
        if (kind === 'audio' && !videoSeen) continue;
        this.forwardRtp(raw);
      }
      this.down.uncork();
      // ffmpeg gives the first video packet pts 0; without video yet the anchor waits for it.
      if (this.firstVideoArrival === null) return;
      this.anchor = { source: 'arrival', ptsZeroMs: this.firstVideoArrival };
    }
    this.tap.emitSafe('anchor', this.anchor);
  }

}

/**
 * Listens on 127.0.0.1 (an ephemeral port) for the ffmpeg of one camera; relays one connection at
 * a time to the camera. `expect()` before each ffmpeg start; a connection nobody expects is closed.
 */
export class RtspTap extends EventEmitter<RtspTapEvents> {
  private server: Server | null = null;
  private current: TapConnection | null = null;
  private expecting = false;
  private readonly log: Logger;
  private readonly nowMs: () => number;
  private closed = false;
  private host: string;

  constructor(private readonly o: RtspTapOptions) {
    super();
    this.host = o.host;
    this.log = o.log.child({ part: 'rtsp-tap' });
    this.nowMs = o.nowMs ?? Date.now;
  }

  async listen(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'relay server error'));
    return this.port;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** Server-clock ms of the newest RTP packet of the current connection, or null. */
  get lastMediaAt(): number | null {
    return this.current?.lastMediaAt ?? null;
  }

  get anchor(): TapAnchor | null {
    return this.current?.anchor ?? null;
  }

  /** The next connection is the new ffmpeg's, relayed to `host` (an IP literal): the old one (if any) is cut. */
  expect(host: string = this.o.host): void {
    this.host = host;
    this.current?.close();
    this.current = null;
    this.expecting = true;
  }

  /** Cuts the current connection (ffmpeg sees EOF and ends its outputs cleanly). */
  drop(): void {
    this.current?.close();
    this.current = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.drop();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  emitSafe<K extends keyof RtspTapEvents>(event: K, ...args: RtspTapEvents[K]): void {
    for (const l of this.rawListeners(event as string)) {
      try {
        (l as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'listener threw');
      }
    }
  }

  private accept(down: Socket): void {
    if (!this.expecting || this.closed) {
      down.destroy();
      return;
    }
    this.expecting = false;
    down.setNoDelay(true);
    let conn: TapConnection | null = null;
    const up = connect({
      host: this.host,
      port: this.o.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (n, buf) => {
          conn?.fromCameraChunk(buf.subarray(0, n));
          return true;
        },
      },
    });
    up.setNoDelay(true);
    let connectedUp = false;
    const connectTimer = setTimeout(() => up.destroy(new Error(`connect to ${this.host}:${this.o.port} timed out`)), 5000);
    up.once('connect', () => {
      clearTimeout(connectTimer);
      connectedUp = true;
      this.emitSafe('connected');
    });
    conn = new TapConnection(this, down, up, this.o, this.nowMs);
    this.current = conn;
    const thisConn = conn;
    up.on('error', (err) => {
      if (thisConn.closed) return;
      if (!connectedUp) {
        clearTimeout(connectTimer);
        this.emitSafe('upstreamFailed', err);
      } else this.log.debug({ err }, 'camera connection error');
    });
    up.once('close', () => {
      clearTimeout(connectTimer);
      const wasOurs = !thisConn.closed;
      thisConn.close();
      if (this.current === thisConn) this.current = null;
      if (wasOurs && connectedUp) this.emitSafe('upstreamClosed', 'camera closed the connection');
    });
    down.on('error', (err) => this.log.debug({ err }, 'ffmpeg side error'));
    down.once('close', () => {
      thisConn.close();
      if (this.current === thisConn) this.current = null;
    });
  }
}
