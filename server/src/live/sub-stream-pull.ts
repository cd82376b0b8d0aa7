import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { connect, isIP, type Socket } from 'node:net';
import type { CameraCredentials } from '../cameras/camera-probe.types.ts';
import { authorizationHeader, parseChallenge, type AuthChallenge } from '../cameras/digest-auth.ts';
import { parseSdp } from '../cameras/rtsp-describe.ts';
import { StreamSplitter } from '../ingest/rtsp-tap.ts';
import type { Logger } from '../shared/logger.ts';

const BACKOFF_START_MS = 500;
const BACKOFF_CAP_MS = 10_000;
/** DESCRIBE to PLAY must be done by then (a hung camera is retried). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** No video for this long ends the connection; it is made again with backoff. */
const STALL_MS = 10_000;
const KEEPALIVE_MAX_MS = 25_000;

export interface SubStreamSource {
  /** The camera's sub stream, rtsp://. */
  url: string;
  credentials: CameraCredentials | null;
}

export interface SubStreamPullEvents {
  /** The camera's SDP of the current connection (SPS/PPS for viewers whose first IDR has none in-band). */
  sdp: [string];
  /** One H.264 RTP packet of the sub stream, as the camera sent it. */
  rtp: [Buffer];
}

interface RtspReply {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The light extra pull of a camera's sub stream for grid tiles, only while someone watches it: the
 * server's own RTSP client (DESCRIBE, SETUP of the video over TCP, PLAY) handing on the camera's
 * RTP packets as they come. No ffmpeg: starting one and letting it probe the stream took longer than
 * the camera's GOP (bench:live, first frame of a grid tile). Reconnects with backoff until closed.
 * Nothing here touches the recording ingest of the main stream.
 */
export class SubStreamPull extends EventEmitter<SubStreamPullEvents> {
  private socket: Socket | null = null;
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

  /** Starts pulling (connection failures are retried in the background). */
  start(): void {
    void this.pull();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.removeAllListeners();
    this.socket?.destroy();
  }

  private async pull(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    try {
      await this.playOnce();
    } catch (err) {
      if (!this.closed) this.log.warn({ err, camera: this.cameraId }, 'sub stream pull failed');
    }
    if (this.closed) return;
    const delay = Math.min(BACKOFF_START_MS * 2 ** this.attempts, BACKOFF_CAP_MS);
    this.attempts++;
    this.timer = setTimeout(() => void this.pull(), delay);
  }

  /** One connection: resolves when the camera ends it (or it stalls), rejects when it cannot be set up. */
  private async playOnce(): Promise<void> {
    const url = new URL(this.source.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const address = isIP(host) ? host : (await lookup(host)).address;
    if (this.closed) return;
    const credentials =
      this.source.credentials ?? (url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : null);
    const requestUrl = `rtsp://${url.host}${url.pathname}${url.search}`;

    const socket = connect({ host: address, port: Number(url.port || 554) });
    socket.setNoDelay(true);
    this.socket = socket;
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => this.log.debug({ err, camera: this.cameraId }, 'sub stream connection error'));
    const handshakeTimer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);

    let waiting: ((reply: RtspReply) => void) | null = null;
    let videoChannel = 0;
    let lastVideoAt = Date.now();
    const splitter = new StreamSplitter((unit) => {
      if (unit.kind === 'frame') {
        if (unit.channel !== videoChannel || this.closed) return;
        lastVideoAt = Date.now();
        this.attempts = 0;
        this.emit('rtp', unit.payload);
        return;
      }
      const reply = parseReply(unit.head, unit.body);
      if (!reply) {
        this.log.warn({ camera: this.cameraId, head: unit.head.slice(0, 60) }, 'sub stream: not an RTSP answer; reconnecting');
        socket.destroy();
        return;
      }
      const resolve = waiting;
      waiting = null;
      resolve?.(reply); // replies to keep-alives arrive with nobody waiting
    });
    socket.on('data', (chunk: Buffer) => splitter.push(chunk));

    let cseq = 0;
    let challenge: AuthChallenge | null = null;
    let session: string | null = null;
    const write = (method: string, uri: string, headers: string[]): void => {
      const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++cseq}`, 'User-Agent: hearing-recorder', ...headers];
      if (session) lines.push(`Session: ${session}`);
      if (challenge && credentials) lines.push(`Authorization: ${authorizationHeader(challenge, credentials, method, uri)}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    };
    const request = async (method: string, uri: string, headers: string[] = []): Promise<RtspReply> => {
      for (;;) {
        const reply = await Promise.race([
          new Promise<RtspReply>((resolve) => {
            waiting = resolve;
            write(method, uri, headers);
          }),
          ended.then(() => {
            throw new Error(`the camera closed the connection during ${method}`);
          }),
        ]);
        if (reply.status === 401 && credentials && !challenge) {
          challenge = parseChallenge(reply.headers['www-authenticate']);
          if (challenge) continue;
        }
        if (reply.status !== 200) throw new Error(`${method} answered ${reply.status} ${reply.reason}`);
        return reply;
      }
    };

    let keepalive: NodeJS.Timeout | null = null;
    let stallCheck: NodeJS.Timeout | null = null;
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
        ended.then(() => {
          throw new Error('cannot connect to the camera');
        }),
      ]);
      const described = await request('DESCRIBE', requestUrl, ['Accept: application/sdp']);
      const video = parseSdp(described.body).find((m) => m.type === 'video');
      if (!video || video.codec !== 'H264') throw new Error(`the sub stream carries no H.264 video (${video?.codec || 'no video'})`);
      const base = described.headers['content-base'] ?? requestUrl;
      const setup = await request('SETUP', controlUrl(base, video.control), ['Transport: RTP/AVP/TCP;unicast;interleaved=0-1']);
      const sessionHeader = setup.headers.session ?? '';
      session = sessionHeader.split(';')[0]!.trim() || null;
      videoChannel = Number(/interleaved=(\d+)/.exec(setup.headers.transport ?? '')?.[1] ?? 0);
      const timeoutS = Number(/timeout=(\d+)/.exec(sessionHeader)?.[1] ?? 60);
      this.emit('sdp', described.body);
      await request('PLAY', controlUrl(base, sessionControl(described.body)), ['Range: npt=0.000-']);
      clearTimeout(handshakeTimer);
      lastVideoAt = Date.now();
      keepalive = setInterval(() => write('OPTIONS', requestUrl, []), Math.min(KEEPALIVE_MAX_MS, (timeoutS * 1000) / 2));
      stallCheck = setInterval(() => {
        if (Date.now() - lastVideoAt > STALL_MS) {
          this.log.warn({ camera: this.cameraId }, `sub stream sent no video for ${STALL_MS / 1000} s: reconnecting`);
          socket.destroy();
        }
      }, 1000);
      await ended;
    } finally {
      clearTimeout(handshakeTimer);
      if (keepalive) clearInterval(keepalive);
      if (stallCheck) clearInterval(stallCheck);
      socket.destroy();
      if (this.socket === socket) this.socket = null;
    }
  }
}

function parseReply(head: string, body: Buffer): RtspReply | null {
  const lines = head.split('\r\n');
  const status = /^RTSP\/1\.\d (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), reason: status[2] ?? '', headers, body: body.toString('utf8') };
}

/** The session-level `a=control` (before the first m= line), if any. */
function sessionControl(sdp: string): string | undefined {
  const sessionPart = sdp.split(/\r?\nm=/)[0] ?? '';
  return /^a=control:(\S+)/m.exec(sessionPart)?.[1];
}

/** A media or session control attribute resolved against the base URL (RFC 2326 C.1.1). */
export function controlUrl(base: string, control: string | undefined): string {
  if (!control || control === '*') return base;
  if (/^rtsp:\/\//i.test(control)) return control;
  return base.endsWith('/') ? `${base}${control}` : `${base}/${control}`;
}
