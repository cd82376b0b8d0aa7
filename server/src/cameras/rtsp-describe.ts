import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { authorizationHeader, parseChallenge } from './digest-auth.ts';
import { CameraProbeError, type RtspDescription, type SdpMedia } from './rtsp-describe.types.ts';

export * from './rtsp-describe.types.ts';

interface RtspResponse {
  status: number;
  reason: string;
  headers: Record<string, string[]>;
  body: string;
}

/**
 * One RTSP DESCRIBE (with digest or basic authentication when challenged) over a single TCP
 * connection: the cheapest way to learn whether a stream is there, whether the credentials work,
 * and which codecs it carries, without starting ffmpeg. Bounded by `timeoutMs` overall.
 */
export async function describeRtsp(
  url: string,
  credentials: { username: string; password: string } | null,
  timeoutMs = 5000,
): Promise<RtspDescription> {
  const target = new URL(url);
  if (target.protocol !== 'rtsp:') throw new CameraProbeError('protocol', `not an rtsp:// URL: ${url}`);
  const port = Number(target.port || 554);
  const host = await resolveHost(target.hostname.replace(/^\[|\]$/g, ''));
  const requestUrl = `rtsp://${target.host}${target.pathname}${target.search}`;

  const socket = new Socket();
  const deadline = setTimeout(() => socket.destroy(new CameraProbeError('timeout', `no answer from ${target.host} within ${timeoutMs} ms (camera hung or filtered)`)), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((err: NodeJS.ErrnoException) => {
      if (err instanceof CameraProbeError) throw err;
      throw new CameraProbeError('unreachable', `cannot connect to ${target.host}: ${err.code ?? err.message}`);
    });
    const reader = new ResponseReader(socket);
    let cseq = 1;
    const send = (authorization?: string) => {
      const lines = [`DESCRIBE ${requestUrl} RTSP/1.0`, `CSeq: ${cseq++}`, 'Accept: application/sdp', 'User-Agent: hearing-recorder'];
      if (authorization) lines.push(`Authorization: ${authorization}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      return reader.next();
    };
    let response = await send();
    if (response.status === 401 && credentials) {
      const challenge = parseChallenge(response.headers['www-authenticate']);
      if (!challenge) throw new CameraProbeError('protocol', 'the camera asked for authentication without a usable challenge');
      response = await send(authorizationHeader(challenge, credentials, 'DESCRIBE', requestUrl));
    }
    if (response.status === 401 || response.status === 403) {
      throw new CameraProbeError('unauthorized', credentials ? 'the camera refused the user name or password' : 'the camera needs a user name and password');
    }
    if (response.status !== 200) {
      throw new CameraProbeError('protocol', `DESCRIBE answered ${response.status} ${response.reason}`);
    }
    return { url, sdp: response.body, media: parseSdp(response.body), server: response.headers.server?.[0] };
  } catch (err) {
    if (err instanceof CameraProbeError) throw err;
    throw new CameraProbeError('protocol', (err as Error).message);
  } finally {
    clearTimeout(deadline);
    socket.destroy();
  }
}

async function resolveHost(hostname: string): Promise<string> {
  if (isIP(hostname)) return hostname;
  try {
    return (await lookup(hostname)).address;
  } catch {
    throw new CameraProbeError('unreachable', `cannot resolve the host name ${hostname}`);
  }
}

/** Reads RTSP responses (status line, headers, Content-Length body) from a socket, one at a time. */
class ResponseReader {
  private buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (this.buffer.length > 1 << 20) socket.destroy(new CameraProbeError('protocol', 'RTSP answer too large'));
      this.deliver();
    });
    const fail = (err?: Error) => {
      this.failure = err ?? new CameraProbeError('unreachable', 'the camera closed the connection');
      this.waiting?.reject(this.failure);
      this.waiting = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  next(): Promise<RtspResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.waiting) return;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^RTSP\/1\.\d (\d{3}) ?(.*)$/.exec(head[0] ?? '');
    if (!status) {
      this.waiting.reject(new CameraProbeError('protocol', `not an RTSP answer: ${JSON.stringify(head[0]?.slice(0, 60))}`));
      this.waiting = null;
      return;
    }
    const headers: Record<string, string[]> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    const length = Number(headers['content-length']?.[0] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status: Number(status[1]), reason: status[2] ?? '', headers, body });
  }
}

/** The media sections of an SDP with their first payload's encoding. */
export function parseSdp(sdp: string): SdpMedia[] {
  const media: SdpMedia[] = [];
  let current: (SdpMedia & { payloads: string[] }) | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      const [type = '', , , ...payloads] = line.slice(2).split(/\s+/);
      current = { type, codec: '', clockRate: 0, payloads };
      media.push(current);
    } else if (current && line.startsWith('a=rtpmap:')) {
      const m = /^a=rtpmap:(\d+)\s+([^/]+)\/(\d+)(?:\/(\d+))?/.exec(line);
      if (m && !current.codec && current.payloads.includes(m[1]!)) {
        current.codec = m[2]!.toUpperCase();
        current.clockRate = Number(m[3]);
        if (m[4]) current.channels = Number(m[4]);
      }
    } else if (current && line.startsWith('a=control:')) {
      current.control = line.slice('a=control:'.length);
    }
  }
  for (const m of media as (SdpMedia & { payloads?: string[] })[]) {
    // Static payload types without an rtpmap line (RFC 3551).
    if (!m.codec && m.payloads?.[0] === '8') Object.assign(m, { codec: 'PCMA', clockRate: 8000 });
    if (!m.codec && m.payloads?.[0] === '0') Object.assign(m, { codec: 'PCMU', clockRate: 8000 });
    delete m.payloads;
  }
  return media;
}
