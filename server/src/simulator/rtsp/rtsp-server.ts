import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import type { Logger } from '../../shared/logger.ts';
import type { AudioFrame, AudioStreamInfo, MediaSource, VideoAccessUnit } from '../media/media-source.types.ts';
import { safeEmit, simulatorLogger } from '../media/safe-emit.ts';
import { DigestAuth } from './digest-auth.ts';
import { formatResponse, RtspMessageParser, type RtspMessage } from './rtsp-message.ts';
import {
  RtspServerStateError,
  type RtspServerEvents,
  type RtspServerOptions,
  type RtspServerStats,
} from './rtsp-server.types.ts';
import { RtpTrack, RtspSession, type TrackTransport } from './rtsp-session.ts';
import { packetizeAac, packetizeH264, type RtpPayload } from './rtp-packetizer.ts';
import { AAC_PT, buildSdp, PCMA_PT, VIDEO_PT } from './sdp.ts';

export * from './rtsp-server.types.ts';

const PATHS = ['main', 'sub'] as const;
type StreamPath = (typeof PATHS)[number];

interface Connection {
  socket: Socket;
  parser: RtspMessageParser;
  sessions: Set<RtspSession>;
}

/**
 * The RTSP 1.0 server of one simulated camera: `/main` and `/sub`, H.264 plus AAC or G.711 A-law,
 * RTP over TCP (interleaved) or UDP, digest authentication, RTCP sender reports that map RTP time
 * to the frames' capture time, and the camera's fault modes.
 */
export class RtspServer extends EventEmitter<RtspServerEvents> {
  private readonly log: Logger;
  private readonly o: RtspServerOptions;
  private readonly auth: DigestAuth;
  private server: Server | null = null;
  private udpRtp: UdpSocket | null = null;
  private udpRtcp: UdpSocket | null = null;
  private udpPorts: [number, number] = [0, 0];
  private readonly connections = new Set<Connection>();
  private readonly sessions = new Map<string, RtspSession>();
  private timer: NodeJS.Timeout | null = null;
  private boundPort = 0;
  private closed = false;
  private droppedPackets = 0;
  private readonly unsubscribers: (() => void)[] = [];

  constructor(options: RtspServerOptions) {
    super();
    if (options.audio !== 'aac' && options.audio !== 'pcma') throw new TypeError(`audio must be 'aac' or 'pcma'`);
    this.o = options;
    this.log = simulatorLogger(options.log, { part: 'rtsp' });
    // Read the credentials at each check, and the fault at each check: both change at run time.
    this.auth = new DigestAuth({
      realm: options.realm ?? 'HearingRecorderSimulator',
      qop: options.qop ?? false,
      credentials: () =>
        this.o.faults.current.wrongPassword
          ? { username: this.o.credentials.username, password: `\u0000wrong-${this.o.credentials.password}` }
          : this.o.credentials,
    });
  }

  /** The bound TCP port (after start()). */
  get port(): number {
    return this.boundPort;
  }

  /** `rtsp://host:port/<path>`, e.g. url('/main'). */
  url(path = '/main'): string {
    return `rtsp://${this.o.host}:${this.boundPort || this.o.port}${path.startsWith('/') ? path : `/${path}`}`;
  }

  stats(): RtspServerStats {
    return {
      connections: this.connections.size,
      sessions: this.sessions.size,
      playing: [...this.sessions.values()].filter((s) => s.playing).length,
      droppedPackets: this.droppedPackets,
    };
  }

  async start(): Promise<void> {
    if (this.server) throw new RtspServerStateError('RtspServer already started');
    if (this.closed) throw new RtspServerStateError('RtspServer closed');
    await this.bindUdpPair();
    const server = createServer((socket) => this.onConnection(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error({ err }, 'RTSP listener error'));
    const address = server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.o.port;
    this.subscribe();
    this.timer = setInterval(() => this.housekeeping(), this.o.senderReportIntervalMs ?? 1000);
    this.timer.unref();
    const onDrop = () => this.dropAll();
    this.o.faults.on('drop', onDrop);
    this.unsubscribers.push(() => this.o.faults.off('drop', onDrop));
    this.log.info({ url: this.url('/main'), udp: this.udpPorts }, 'RTSP server listening');
  }

  /** Closes every session, connection and socket. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const off of this.unsubscribers.splice(0)) off();
    for (const session of [...this.sessions.values()]) this.endSession(session, 'close');
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
    const server = this.server;
    await Promise.all([
      server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve(),
      ...[this.udpRtp, this.udpRtcp].map((s) => (s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve())),
    ]);
  }

  // ---- media fan-out -------------------------------------------------------------------------

  private subscribe(): void {
    const { source } = this.o;
    const mtu = this.o.mtu ?? 1400;
    const onVideo = (path: StreamPath) => (au: VideoAccessUnit) => {
      if (!this.mediaFlowing()) return;
      let payloads: RtpPayload[] | null = null;
      for (const s of this.sessions.values()) {
        if (!s.playing || s.path !== path) continue;
        const track = s.tracks.get(0);
        if (!track) continue;
        payloads ??= packetizeH264(au.nalUnits, mtu);
        s.sendFrame(track, payloads, au.captureTimeMs, au.keyframe);
      }
    };
    const primary = (): string => {
      try {
        return source.info().audio.codec;
      } catch {
        return '';
      }
    };
    const onAudio = (frame: AudioFrame) => {
      if (!this.mediaFlowing() || (frame.codec ?? primary()) !== this.o.audio) return;
      const silent = this.o.faults.current.silentAudio && frame.silentPayload ? frame.silentPayload : frame.payload;
      const payload: RtpPayload = this.o.audio === 'aac' ? packetizeAac(silent) : { parts: [silent], marker: false };
      for (const s of this.sessions.values()) {
        const track = s.playing ? s.tracks.get(1) : undefined;
        if (track) s.sendFrame(track, [payload], frame.captureTimeMs, true);
      }
    };
    const main = onVideo('main');
    const sub = onVideo('sub');
    source.on('main', main);
    source.on('sub', sub);
    source.on('audio', onAudio);
    this.unsubscribers.push(() => {
      source.off('main', main);
      source.off('sub', sub);
      source.off('audio', onAudio);
    });
  }

  private mediaFlowing(): boolean {
    const f = this.o.faults.current;
    return !f.stallMedia && !f.unresponsive;
  }

  private housekeeping(): void {
    const now = Date.now();
    const timeoutMs = (this.o.sessionTimeoutS ?? 60) * 1000;
    for (const s of [...this.sessions.values()]) {
      if (now - s.lastActivity > timeoutMs) {
        this.log.info({ session: s.id }, 'session timed out');
        this.endSession(s, 'timeout');
      }
    }
    if (this.mediaFlowing()) this.sendReports(this.sessions.values());
  }

  private sendReports(sessions: Iterable<RtspSession>): void {
    const now = Date.now();
    const cameraNow = now + this.o.faults.current.clockSkewS * 1000;
    for (const s of sessions) if (s.playing) s.sendReports(now, cameraNow, `sim@${this.o.host}`);
  }

  // ---- connections ---------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn: Connection = { socket, parser: new RtspMessageParser(), sessions: new Set() };
    this.connections.add(conn);
    socket.on('data', (chunk) => {
      let items;
      try {
        items = conn.parser.push(chunk);
      } catch (err) {
        this.log.warn({ err }, 'bad RTSP input, closing connection');
        socket.destroy();
        return;
      }
      for (const item of items) {
        if (item.kind === 'interleaved') {
          // RTCP receiver reports from a TCP client: proof of life.
          for (const s of conn.sessions) s.touch();
          continue;
        }
        try {
          this.onMessage(conn, item);
        } catch (err) {
          this.log.error({ err }, 'RTSP request handler failed');
          this.reply(conn, 500, item.headers.cseq);
        }
      }
    });
    socket.on('error', (err) => this.log.debug({ err }, 'RTSP connection error'));
    socket.on('close', () => {
      this.connections.delete(conn);
      for (const s of conn.sessions) this.endSession(s, 'connection');
    });
  }

  private dropAll(): void {
    this.log.info({ connections: this.connections.size }, 'fault: dropping all RTSP connections');
    for (const s of [...this.sessions.values()]) this.endSession(s, 'drop');
    for (const c of this.connections) c.socket.destroy();
  }

  private endSession(s: RtspSession, reason: RtspServerEvents['sessionClosed'][0]['reason']): void {
    if (!this.sessions.delete(s.id)) return;
    s.playing = false;
    for (const c of this.connections) c.sessions.delete(s);
    safeEmit(this, this.log, 'sessionClosed', { session: s.id, reason });
  }

  private reply(conn: Connection, status: number, cseq: string | undefined, headers: Record<string, string | number> = {}, body?: string): void {
    if (conn.socket.destroyed) return;
    const all: Record<string, string | number> = { CSeq: cseq ?? '0', Server: 'hearing-recorder-simulator/1.0', Date: new Date().toUTCString(), ...headers };
    conn.socket.write(formatResponse(status, all, body));
  }

  private onMessage(conn: Connection, msg: RtspMessage): void {
    // A hung camera: the TCP connection is accepted, nothing is ever answered.
    if (this.o.faults.current.unresponsive) return;
    const [method, uri] = msg.startLine;
    const cseq = msg.headers.cseq;
    if (method === 'OPTIONS') {
      this.touchSession(msg);
      return this.reply(conn, 200, cseq, { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER' });
    }
    if (!['DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN', 'GET_PARAMETER', 'PAUSE'].includes(method)) return this.reply(conn, 405, cseq, { Allow: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER' });
    if (!this.auth.verify(method, msg.headers.authorization)) {
      if (msg.headers.authorization) this.log.info({ method }, 'RTSP digest check failed');
      return this.reply(conn, 401, cseq, { 'WWW-Authenticate': this.auth.challenge() });
    }
    const target = parseTarget(uri);
    switch (method) {
      case 'DESCRIBE':
        return this.describe(conn, cseq, uri, target);
      case 'SETUP':
        return this.setup(conn, msg, target);
      case 'PLAY':
        return this.play(conn, msg, uri);
      case 'TEARDOWN': {
        const s = this.sessionOf(msg);
        if (s) this.endSession(s, 'teardown');
        return this.reply(conn, 200, cseq);
      }
      case 'GET_PARAMETER': {
        const s = this.sessionOf(msg);
        if (msg.headers.session && !s) return this.reply(conn, 454, cseq);
        s?.touch();
        return this.reply(conn, 200, cseq, s ? { Session: this.sessionHeader(s) } : {});
      }
      default:
        return this.reply(conn, 405, cseq);
    }
  }

  private sessionOf(msg: RtspMessage): RtspSession | undefined {
    const id = msg.headers.session?.split(';')[0]?.trim();
    return id ? this.sessions.get(id) : undefined;
  }

  private touchSession(msg: RtspMessage): void {
    this.sessionOf(msg)?.touch();
  }

  private sessionHeader(s: RtspSession): string {
    return `${s.id};timeout=${this.o.sessionTimeoutS ?? 60}`;
  }

  private audioInfo(): AudioStreamInfo | null {
    return this.o.source.audioInfo(this.o.audio);
  }

  private describe(conn: Connection, cseq: string | undefined, uri: string, target: Target | null): void {
    if (!target?.path || target.track !== null) return this.reply(conn, 404, cseq);
    let info;
    try {
      info = this.o.source.info();
    } catch {
      return this.reply(conn, 503, cseq);
    }
    const sdp = buildSdp({
      host: this.o.host,
      sessionId: String(randomInt(1, 2 ** 47)),
      name: `Simulated camera ${target.path} stream`,
      video: info[target.path],
      audio: this.audioInfo(),
    });
    const base = uri.split('?')[0]!.replace(/\/?$/, '/');
    this.reply(conn, 200, cseq, { 'Content-Base': base, 'Content-Type': 'application/sdp' }, sdp);
  }

  private setup(conn: Connection, msg: RtspMessage, target: Target | null): void {
    const cseq = msg.headers.cseq;
    if (!target?.path || target.track === null || target.track > 1 || (target.track === 1 && !this.audioInfo())) return this.reply(conn, 404, cseq);
    let session = this.sessionOf(msg);
    if (msg.headers.session && !session) return this.reply(conn, 454, cseq);
    if (session && session.path !== target.path) return this.reply(conn, 459, cseq);
    if (session?.playing) return this.reply(conn, 455, cseq);
    const chosen = chooseTransport(msg.headers.transport ?? '', target.track, conn.socket.remoteAddress ?? '127.0.0.1');
    if (!chosen) return this.reply(conn, 461, cseq);
    if (chosen.transport.kind === 'udp' && !this.udpRtp) return this.reply(conn, 461, cseq);
    if (!session) {
      session = new RtspSession(target.path, conn.socket, {
        udpRtp: this.udpRtp,
        udpRtcp: this.udpRtcp,
        maxBufferedBytes: this.o.maxBufferedBytes ?? 1 << 20,
        onDropped: (n) => (this.droppedPackets += n),
      });
      this.sessions.set(session.id, session);
      conn.sessions.add(session);
    }
    const audio = this.audioInfo();
    const [pt, rate] = target.track === 0 ? [VIDEO_PT, 90_000] : audio?.codec === 'aac' ? [AAC_PT, audio.sampleRate] : [PCMA_PT, 8000];
    const track = new RtpTrack(target.track, pt, rate, chosen.transport);
    session.tracks.set(target.track, track);
    session.touch();
    const ssrc = track.ssrc.toString(16).toUpperCase().padStart(8, '0');
    const transport =
      chosen.transport.kind === 'tcp'
        ? `RTP/AVP/TCP;unicast;interleaved=${chosen.transport.rtpChannel}-${chosen.transport.rtcpChannel};ssrc=${ssrc}`
        : `RTP/AVP;unicast;client_port=${chosen.transport.rtpPort}-${chosen.transport.rtcpPort};server_port=${this.udpPorts[0]}-${this.udpPorts[1]};source=${this.o.host};ssrc=${ssrc}`;
    this.reply(conn, 200, cseq, { Transport: transport, Session: this.sessionHeader(session) });
  }

  private play(conn: Connection, msg: RtspMessage, uri: string): void {
    const cseq = msg.headers.cseq;
    const session = this.sessionOf(msg);
    if (!session) return this.reply(conn, 454, cseq);
    if (session.tracks.size === 0) return this.reply(conn, 455, cseq);
    session.touch();
    const now = Date.now();
    const base = uri.split('?')[0]!.replace(/\/(trackID=\d+)?$/, '');
    const rtpInfo = [...session.tracks.values()]
      .map((t) => `url=${base}/trackID=${t.trackId};seq=${t.seq};rtptime=${t.rtpTime(now)}`)
      .join(',');
    this.reply(conn, 200, cseq, { Session: this.sessionHeader(session), Range: 'npt=now-', 'RTP-Info': rtpInfo });
    if (!session.playing) {
      session.playing = true;
      // A sender report right away, so a receiver can map RTP time to capture time from the first frame.
      if (this.mediaFlowing()) this.sendReports([session]);
      safeEmit(this, this.log, 'play', { session: session.id, path: session.path, transport: session.transportKind });
      this.log.debug({ session: session.id, path: session.path, transport: session.transportKind }, 'playing');
    }
  }

  private async bindUdpPair(): Promise<void> {
    const bind = (port: number) =>
      new Promise<UdpSocket>((resolve, reject) => {
        const s = createSocket('udp4');
        s.once('error', reject);
        s.bind(port, this.o.host, () => {
          s.off('error', reject);
          resolve(s);
        });
      });
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = 2 * randomInt(10_000, 30_000);
      let rtp: UdpSocket | null = null;
      try {
        rtp = await bind(port);
        const rtcp = await bind(port + 1);
        for (const s of [rtp, rtcp]) s.on('error', (err) => this.log.debug({ err }, 'UDP socket error'));
        // Receiver reports keep UDP sessions alive, like requests do.
        rtcp.on('message', (_msg, rinfo) => {
          for (const s of this.sessions.values()) {
            for (const t of s.tracks.values()) if (t.transport.kind === 'udp' && t.transport.rtcpPort === rinfo.port) s.touch();
          }
        });
        this.udpRtp = rtp;
        this.udpRtcp = rtcp;
        this.udpPorts = [port, port + 1];
        return;
      } catch {
        rtp?.close();
      }
    }
    this.log.warn('no UDP port pair free: RTSP over UDP disabled, TCP only');
  }
}

interface Target {
  path: StreamPath | null;
  track: number | null;
}

/** `rtsp://h:p/main/trackID=1?x` → { path: 'main', track: 1 }. */
function parseTarget(uri: string): Target | null {
  let pathname: string;
  try {
    pathname = new URL(uri).pathname;
  } catch {
    return null;
  }
  const parts = pathname.split('/').filter(Boolean);
  const path = PATHS.find((p) => p === parts[0]) ?? null;
  const trackPart = parts[1] ? /^trackID=(\d+)$/.exec(parts[1]) : null;
  if (parts.length > 2 || (parts[1] && !trackPart)) return { path: null, track: null };
  return { path, track: trackPart ? Number(trackPart[1]) : null };
}

/** The first transport in the client's list we can serve. */
function chooseTransport(header: string, trackId: number, clientHost: string): { transport: TrackTransport } | null {
  for (const spec of header.split(',')) {
    const fields = spec.trim().split(';').map((f) => f.trim());
    const proto = fields[0]?.toUpperCase();
    if (fields.some((f) => f.toLowerCase() === 'multicast')) continue;
    const param = (name: string) => fields.find((f) => f.toLowerCase().startsWith(`${name}=`))?.slice(name.length + 1);
    if (proto === 'RTP/AVP/TCP') {
      const [a, b] = (param('interleaved') ?? `${2 * trackId}-${2 * trackId + 1}`).split('-').map(Number);
      if (a === undefined || !Number.isInteger(a)) continue;
      return { transport: { kind: 'tcp', rtpChannel: a, rtcpChannel: b !== undefined && Number.isInteger(b) ? b : a + 1 } };
    }
    if (proto === 'RTP/AVP' || proto === 'RTP/AVP/UDP') {
      const [a, b] = (param('client_port') ?? '').split('-').map(Number);
      if (!a || !Number.isInteger(a)) continue;
      return { transport: { kind: 'udp', host: clientHost.replace(/^::ffff:/, ''), rtpPort: a, rtcpPort: b && Number.isInteger(b) ? b : a + 1 } };
    }
  }
  return null;
}
