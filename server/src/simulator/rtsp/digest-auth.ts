import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Parses `Digest a="b", c=d` into a map (quoted or token values). */
export function parseAuthParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let m = re.exec(header); m; m = re.exec(header)) out[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  return out;
}

/** The client's side of RFC 2617 digest: the Authorization header for one request. */
export function digestAuthorization(o: {
  username: string;
  password: string;
  method: string;
  uri: string;
  challenge: string;
  nc?: number;
}): string {
  const c = parseAuthParams(o.challenge.replace(/^Digest\s+/i, ''));
  const realm = c.realm ?? '';
  const nonce = c.nonce ?? '';
  const ha1 = md5(`${o.username}:${realm}:${o.password}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  const qop = c.qop?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
  let header = `Digest username="${o.username}", realm="${realm}", nonce="${nonce}", uri="${o.uri}"`;
  if (qop) {
    const nc = (o.nc ?? 1).toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    header += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}", response="${md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`)}"`;
  } else header += `, response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
  return header;
}

/**
 * The server's side of RFC 2617 digest authentication (MD5). Nonces are issued by `challenge()` and
 * accepted for `nonceTtlMs`; the response is checked with or without qop=auth, because RTSP clients
 * differ (ffmpeg answers qop, older GStreamer answers RFC 2069 style).
 */
export class DigestAuth {
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly o: {
      realm: string;
      credentials: () => { username: string; password: string };
      /** Offer qop="auth" in the challenge (clients may still answer without). */
      qop?: boolean;
      nonceTtlMs?: number;
      now?: () => number;
    },
  ) {}

  /** The WWW-Authenticate header value for a 401. */
  challenge(): string {
    const now = this.now();
    for (const [n, exp] of this.nonces) if (exp < now) this.nonces.delete(n);
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, now + (this.o.nonceTtlMs ?? 300_000));
    return `Digest realm="${this.o.realm}", nonce="${nonce}"${this.o.qop ? ', qop="auth"' : ''}`;
  }

  /** True when the Authorization header proves the configured credentials for `method`. */
  verify(method: string, authorization: string | undefined): boolean {
    if (!authorization || !/^Digest\s/i.test(authorization)) return false;
    const p = parseAuthParams(authorization.slice(7));
    const { username, password } = this.o.credentials();
    const exp = p.nonce ? this.nonces.get(p.nonce) : undefined;
    if (exp === undefined || exp < this.now()) return false;
    if (p.username !== username || p.realm !== this.o.realm || !p.uri || !p.response) return false;
    const ha1 = md5(`${username}:${this.o.realm}:${password}`);
    const ha2 = md5(`${method}:${p.uri}`);
    const expected = p.qop
      ? p.qop === 'auth' && p.nc && p.cnonce
        ? md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`)
        : ''
      : md5(`${ha1}:${p.nonce}:${ha2}`);
    const got = Buffer.from(p.response.toLowerCase());
    const want = Buffer.from(expected);
    return want.length > 0 && got.length === want.length && timingSafeEqual(got, want);
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }
}
