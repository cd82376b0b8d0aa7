import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { digestAuthorization } from './digest-auth.ts';
import { RtspMessageParser, type RtspMessage } from './rtsp-message.ts';
import { parseSenderReports } from './rtp-packetizer.ts';

/**
 * A minimal RTSP/RTP receiver (TCP interleaved, digest auth) for tests and benchmarks: it keeps the
 * RTP timestamps and sender reports that ffmpeg hides, so the capture time of every frame can be
 * recovered exactly. Not a general client: one path, all tracks, no reordering.
 */
export interface ReceivedVideoFrame {
  nalUnits: Buffer[];
  rtpTime: number;
  keyframe: boolean;
  /** Capture time from the latest sender report, or null before the first one. */
  captureTimeMs: number | null;
  arrivalMs: number;
}

export interface ReceivedAudioFrame {
  /** AAC raw frame(s) without AU headers, or the PCMA payload. */
  payload: Buffer;
  rtpTime: number;
  captureTimeMs: number | null;
}

export interface SenderReportInfo {
  trackId: number;
  ntpMs: number;
  rtpTime: number;
  arrivalMs: number;
}

export interface RtspClientEvents {
  video: [ReceivedVideoFrame];
  audio: [ReceivedAudioFrame];
  rtp: [{ trackId: number; packet: Buffer }];
  sr: [SenderReportInfo];
  close: [];
}

export interface RtspResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Track {
  id: number;
  control: string;
  media: 'video' | 'audio';
  clockRate: number;
  codec: string;
  lastSr: { ntpMs: number; rtpTime: number } | null;
}

export class RtspClient extends EventEmitter<RtspClientEvents> {
  readonly tracks: Track[] = [];
  sdp = '';
  private readonly parser = new RtspMessageParser();
  private cseq = 0;
  private pending: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void } | null = null;
  private challenge: string | null = null;
  private session: string | null = null;
  private fu: Buffer[] = [];
  private au: Buffer[] = [];
  private auTime: number | null = null;
  private closed = false;
  private paused = false;

  private constructor(
    private readonly socket: Socket,
    readonly url: string,
    private readonly credentials: { username: string; password: string } | null,
    private readonly timeoutMs: number,
  ) {
    super();
    socket.on('data', (chunk) => {
      for (const item of this.parser.push(chunk)) {
        if (item.kind === 'interleaved') this.onInterleaved(item.channel, item.data);
        else this.onResponse(item);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      this.pending?.reject(new Error('connection closed'));
      this.pending = null;
      this.emit('close');
    });
    socket.on('error', () => undefined);
  }

  static connect(url: string, o: { username?: string; password?: string; timeoutMs?: number } = {}): Promise<RtspClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(u.port || 554), u.hostname, () => {
        socket.off('error', reject);
        const creds = o.username !== undefined ? { username: o.username, password: o.password ?? '' } : null;
        resolve(new RtspClient(socket, `${u.protocol}//${u.host}${u.pathname}`, creds, o.timeoutMs ?? 5000));
      });
      socket.once('error', reject);
    });
  }

  /** Stops reading the socket: a slow client, for tests. close() then skips TEARDOWN. */
  pauseReading(): void {
    this.paused = true;
    this.socket.pause();
  }

  /** The session id after SETUP. */
  get sessionId(): string | null {
    return this.session;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one request (answering a digest challenge once); rejects on timeout or close. */
  async request(method: string, url = this.url, headers: Record<string, string> = {}): Promise<RtspResponse> {
    let res = await this.send(method, url, headers);
    if (res.status === 401 && this.credentials && res.headers['www-authenticate']) {
      this.challenge = res.headers['www-authenticate'];
      res = await this.send(method, url, headers);
    }
    return res;
  }

  /** DESCRIBE, SETUP every track over TCP interleaved, PLAY. Throws on any non-200. */
  async play(): Promise<void> {
    const d = await this.request('DESCRIBE', this.url, { Accept: 'application/sdp' });
    if (d.status !== 200) throw new Error(`DESCRIBE ${d.status}`);
    this.sdp = d.body.toString('utf8');
    const base = d.headers['content-base'] ?? `${this.url}/`;
    let media: Track | null = null;
    for (const line of this.sdp.split(/\r?\n/)) {
      if (line.startsWith('m=')) {
        media = { id: this.tracks.length, control: '', media: line.startsWith('m=video') ? 'video' : 'audio', clockRate: 90000, codec: '', lastSr: null };
        this.tracks.push(media);
      } else if (media && line.startsWith('a=rtpmap:')) {
        const [, enc] = line.split(' ');
        const [codec, rate] = (enc ?? '').split('/');
        media.codec = (codec ?? '').toLowerCase();
        media.clockRate = Number(rate);
      } else if (media && line.startsWith('a=control:')) media.control = line.slice(10);
    }
    for (const t of this.tracks) {
      const headers: Record<string, string> = { Transport: `RTP/AVP/TCP;unicast;interleaved=${2 * t.id}-${2 * t.id + 1}` };
      if (this.session) headers.Session = this.session;
      const s = await this.request('SETUP', t.control.startsWith('rtsp:') ? t.control : base + t.control, headers);
      if (s.status !== 200) throw new Error(`SETUP ${s.status}`);
      this.session = (s.headers.session ?? '').split(';')[0] ?? null;
    }
    const p = await this.request('PLAY', base, { Session: this.session ?? '', Range: 'npt=0.000-' });
    if (p.status !== 200) throw new Error(`PLAY ${p.status}`);
  }

  /** Capture time of an RTP timestamp on a track, from its latest sender report. */
  captureTime(trackId: number, rtpTime: number): number | null {
    const t = this.tracks[trackId];
    if (!t?.lastSr) return null;
    // Signed 32-bit difference: RTP time wraps.
    const diff = ((rtpTime - t.lastSr.rtpTime) << 0) as number;
    return t.lastSr.ntpMs + (diff * 1000) / t.clockRate;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.session && !this.paused) await this.send('TEARDOWN', this.url, { Session: this.session }).catch(() => undefined);
    this.socket.destroy();
    if (!this.closed) await new Promise<void>((resolve) => this.once('close', () => resolve()));
  }

  private send(method: string, url: string, headers: Record<string, string>): Promise<RtspResponse> {
    if (this.pending) return Promise.reject(new Error('one request at a time'));
    if (this.closed) return Promise.reject(new Error('connection closed'));
    const all: Record<string, string> = { CSeq: String(++this.cseq), 'User-Agent': 'hearing-recorder-test', ...headers };
    if (this.challenge && this.credentials) all.Authorization = digestAuthorization({ ...this.credentials, method, uri: url, challenge: this.challenge, nc: this.cseq });
    let text = `${method} ${url} RTSP/1.0\r\n`;
    for (const [k, v] of Object.entries(all)) text += `${k}: ${v}\r\n`;
    this.socket.write(text + '\r\n');
    return new Promise<RtspResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new Error(`${method}: no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private onResponse(msg: RtspMessage): void {
    const p = this.pending;
    this.pending = null;
    p?.resolve({ status: Number(msg.startLine[1]), headers: msg.headers, body: msg.body });
  }

  private onInterleaved(channel: number, data: Buffer): void {
    const trackId = channel >> 1;
    const track = this.tracks[trackId];
    if (!track) return;
    if (channel & 1) {
      for (const sr of parseSenderReports(data)) {
        track.lastSr = { ntpMs: sr.ntpMs, rtpTime: sr.rtpTime };
        this.emit('sr', { trackId, ntpMs: sr.ntpMs, rtpTime: sr.rtpTime, arrivalMs: Date.now() });
      }
      return;
    }
    this.emit('rtp', { trackId, packet: data });
    const cc = data[0]! & 0x0f;
    const marker = (data[1]! & 0x80) !== 0;
    const rtpTime = data.readUInt32BE(4);
    const payload = data.subarray(12 + 4 * cc);
    if (track.media === 'audio') {
      if (track.codec === 'mpeg4-generic') {
        const headerBits = payload.readUInt16BE(0);
        const frames: Buffer[] = [];
        let off = 2 + Math.ceil(headerBits / 8);
        for (let h = 0; h < headerBits / 16; h++) {
          const size = payload.readUInt16BE(2 + 2 * h) >> 3;
          frames.push(payload.subarray(off, off + size));
          off += size;
        }
        for (const f of frames) this.emit('audio', { payload: f, rtpTime, captureTimeMs: this.captureTime(trackId, rtpTime) });
      } else this.emit('audio', { payload, rtpTime, captureTimeMs: this.captureTime(trackId, rtpTime) });
      return;
    }
    if (this.auTime !== null && rtpTime !== this.auTime) this.flushAu(trackId);
    this.auTime = rtpTime;
    const type = payload[0]! & 0x1f;
    if (type === 28) {
      const fuHeader = payload[1]!;
      if (fuHeader & 0x80) this.fu = [Buffer.from([(payload[0]! & 0xe0) | (fuHeader & 0x1f)])];
      this.fu.push(payload.subarray(2));
      if (fuHeader & 0x40) {
        this.au.push(Buffer.concat(this.fu));
        this.fu = [];
      }
    } else this.au.push(Buffer.from(payload));
    if (marker) this.flushAu(trackId);
  }

  private flushAu(trackId: number): void {
    if (this.au.length && this.auTime !== null) {
      const nalUnits = this.au;
      this.emit('video', {
        nalUnits,
        rtpTime: this.auTime,
        keyframe: nalUnits.some((n) => (n[0]! & 0x1f) === 5),
        captureTimeMs: this.captureTime(trackId, this.auTime),
        arrivalMs: Date.now(),
      });
    }
    this.au = [];
    this.auTime = null;
  }
}
