import { createHash, timingSafeEqual } from 'node:crypto';
import { child, type XmlElement } from '../../shared/xml.ts';
import { NS, PASSWORD_DIGEST_TYPE } from './soap.ts';

export type UsernameTokenRejection = 'missing' | 'not-digest' | 'unknown-user' | 'bad-digest' | 'stale' | 'replayed';

export type UsernameTokenResult = { ok: true; username: string } | { ok: false; reason: UsernameTokenRejection };

export interface UsernameTokenVerifierOptions {
  /** The camera's clock: `Created` is judged against it, not against the host's. */
  now: () => Date;
  /** How far `Created` may be from the camera's now, either way. ONVIF cameras use 5 minutes. */
  maxSkewMs?: number;
  /** Bound on remembered nonces, so a flood cannot grow memory without limit. */
  maxNonces?: number;
}

/** Base64(SHA1(nonce + created + password)), the WS-Security UsernameToken PasswordDigest. */
export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

/**
 * Checks the WS-Security UsernameToken of SOAP requests as an ONVIF camera does: PasswordDigest
 * only, `Created` within ±5 min of the camera's clock, and each nonce accepted once (replay
 * protection, as Axis and recent Hikvision firmware do).
 */
export class UsernameTokenVerifier {
  private readonly maxSkewMs: number;
  private readonly maxNonces: number;
  /** nonce → when it may be forgotten (host ms): after that its Created is stale anyway. */
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: UsernameTokenVerifierOptions) {
    this.maxSkewMs = options.maxSkewMs ?? 5 * 60_000;
    this.maxNonces = options.maxNonces ?? 10_000;
  }

  verify(header: XmlElement | undefined, credentials: { username: string; password: string }): UsernameTokenResult {
    const token = child(child(header, 'Security', NS.wsse), 'UsernameToken', NS.wsse);
    const username = child(token, 'Username', NS.wsse)?.text;
    const password = child(token, 'Password', NS.wsse);
    const nonceText = child(token, 'Nonce', NS.wsse)?.text;
    const created = child(token, 'Created', NS.wsu)?.text;
    if (!token || username === undefined || !password || !nonceText || !created) return { ok: false, reason: 'missing' };
    if (password.attributes.Type !== PASSWORD_DIGEST_TYPE) return { ok: false, reason: 'not-digest' };
    if (username !== credentials.username) return { ok: false, reason: 'unknown-user' };

    const nonce = Buffer.from(nonceText, 'base64');
    const expected = Buffer.from(passwordDigest(nonce, created, credentials.password));
    const given = Buffer.from(password.text);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-digest' };

    const createdMs = Date.parse(created);
    if (!Number.isFinite(createdMs) || Math.abs(this.options.now().getTime() - createdMs) > this.maxSkewMs) {
      return { ok: false, reason: 'stale' };
    }
    // Only a correctly signed token marks its nonce as used: a forger cannot burn nonces.
    this.forgetExpired();
    if (this.seen.has(nonceText)) return { ok: false, reason: 'replayed' };
    if (this.seen.size >= this.maxNonces) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.set(nonceText, Date.now() + 2 * this.maxSkewMs);
    return { ok: true, username };
  }

  private forgetExpired(): void {
    const now = Date.now();
    // Insertion order is expiry order (constant lifetime), so stop at the first live entry.
    for (const [nonce, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(nonce);
    }
  }
}
