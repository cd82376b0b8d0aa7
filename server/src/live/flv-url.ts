import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KEY_FILE = 'flv-url.key';

export interface SignedFlvUrl {
  url: string;
  /** ISO 8601 UTC. */
  expiresAt: string;
}

export type FlvUrlCheck = 'ok' | 'expired' | 'forged';

/**
 * Short-lived signed FLV URLs: `<path>?exp=<epoch s>&user=<username>&sig=<HMAC-SHA256>` over the
 * path, the expiry and the user, with a secret kept in DATA_DIR (mode 0600). The FLV route checks
 * the signature and also the login session, so a leaked URL is useless to anyone else and soon.
 */
export class FlvUrlSigner {
  private constructor(
    private readonly secret: Buffer,
    private readonly ttlS: number,
    private readonly now: () => number,
  ) {}

  /** Loads DATA_DIR/flv-url.key, creating it on first use. */
  static open(dataDir: string, ttlS: number, now: () => number = Date.now): FlvUrlSigner {
    const file = join(dataDir, KEY_FILE);
    let secret: Buffer;
    try {
      secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      secret = randomBytes(32);
      writeFileSync(file, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    }
    if (secret.length < 32) throw new Error(`${file} holds no usable key: delete it to have a new one made`);
    return new FlvUrlSigner(secret, ttlS, now);
  }

  sign(path: string, username: string): SignedFlvUrl {
    const exp = Math.floor(this.now() / 1000) + this.ttlS;
    const query = new URLSearchParams({ exp: String(exp), user: username, sig: this.mac(path, exp, username) });
    return { url: `${path}?${query.toString()}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  check(path: string, query: { exp?: unknown; user?: unknown; sig?: unknown }): FlvUrlCheck {
    const { exp, user, sig } = query;
    if (typeof exp !== 'string' || typeof user !== 'string' || typeof sig !== 'string' || !/^\d{1,12}$/.test(exp)) return 'forged';
    const expected = Buffer.from(this.mac(path, Number(exp), user), 'base64url');
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'forged';
    return Number(exp) * 1000 < this.now() ? 'expired' : 'ok';
  }

  private mac(path: string, exp: number, username: string): string {
    return createHmac('sha256', this.secret).update(`${path}\n${exp}\n${username}`).digest('base64url');
  }
}
