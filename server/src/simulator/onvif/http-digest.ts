import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Splits `a="x, y", b=z` into pairs, honouring quotes. */
export function parseAuthParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of value.matchAll(/([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[match[1]!.toLowerCase()] = match[2] ?? match[3] ?? '';
  }
  return params;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * HTTP Digest authentication (RFC 7616, MD5, qop=auth) as IP cameras use it for snapshots. Nonces
 * are stateless: a timestamp signed with a per-server key, valid for `nonceLifetimeMs`.
 */
export class HttpDigestAuth {
  private readonly key = randomBytes(16);

  constructor(
    private readonly realm: string,
    private readonly nonceLifetimeMs = 5 * 60_000,
  ) {}

  challenge(stale = false): string {
    const issued = Date.now().toString(16);
    const nonce = `${issued}.${this.sign(issued)}`;
    return `Digest realm="${this.realm}", qop="auth", nonce="${nonce}", stale="${stale ? 'TRUE' : 'FALSE'}"`;
  }

  /** 'ok', 'stale' (right password, expired nonce: the client retries silently) or 'denied'. */
  verify(
    header: string | undefined,
    method: string,
    uri: string,
    credentials: { username: string; password: string },
  ): 'ok' | 'stale' | 'denied' {
    if (!header?.startsWith('Digest ')) return 'denied';
    const p = parseAuthParams(header.slice(7));
    if (p.username !== credentials.username || p.realm !== this.realm || !p.nonce || p.uri !== uri || !p.response) return 'denied';
    const ha1 = md5(`${credentials.username}:${this.realm}:${credentials.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const expected =
      p.qop === 'auth' ? md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:auth:${ha2}`) : md5(`${ha1}:${p.nonce}:${ha2}`);
    if (!safeEqual(expected, p.response)) return 'denied';
    const [issued, signature] = p.nonce.split('.');
    if (!issued || !signature || !safeEqual(this.sign(issued), signature)) return 'denied';
    return Date.now() - Number.parseInt(issued, 16) > this.nonceLifetimeMs ? 'stale' : 'ok';
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('hex').slice(0, 32);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
