import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PublishAttempt, PublishDecision } from './media-server.ts';

/** Apps on the embedded RTMP server: `live/<cameraId>` (our own FLV publishers), `device/<deviceId>`. */
export const LIVE_APP = 'live';
export const DEVICE_APP = 'device';

/** SHA-256 of a push key: what is stored and compared, never the key. */
export const hashKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** A new push key: 32 random bytes, base64url (URL-safe, 43 characters). */
export const newKey = (): string => randomBytes(32).toString('base64url');

/** Compares the hash of `given` with a stored hash in constant time. */
export function keyMatches(given: unknown, stored: Buffer | null): boolean {
  const candidate = hashKey(typeof given === 'string' ? given : '');
  if (!stored || stored.length !== candidate.length) return false;
  return timingSafeEqual(candidate, stored) && typeof given === 'string' && given.length > 0;
}

/**
 * Who may publish on the embedded RTMP server: a registered, enabled device on `device/<id>` with
 * its key, the server's own FLV publishers on `live/<cameraId>` with the per-process internal key.
 * Anything else is refused (the adapter closes it and the refusal is audited).
 */
export class PublishGuard {
  /** The key of the server's own publishers; new at every start, never stored. */
  readonly internalKey = newKey();
  private readonly internalHash = hashKey(this.internalKey);

  constructor(
    /** The stored SHA-256 (hex) of an enabled device's key, or null. */
    private readonly deviceKeyHash: (deviceId: string) => string | null,
  ) {}

  authorize(attempt: PublishAttempt): PublishDecision {
    const key = attempt.query.key;
    if (attempt.app === LIVE_APP) {
      return keyMatches(key, this.internalHash) ? { allow: true } : { allow: false, reason: 'live/ is for the server itself: wrong or missing key' };
    }
    if (attempt.app === DEVICE_APP) {
      const stored = this.deviceKeyHash(attempt.name);
      // Hash and compare even for an unknown device, so the answer takes the same time.
      const ok = keyMatches(key, stored ? Buffer.from(stored, 'hex') : Buffer.alloc(32));
      if (ok && stored) return { allow: true };
      return { allow: false, reason: stored ? 'wrong or missing device key' : 'no enabled device with this id' };
    }
    return { allow: false, reason: `unknown application "${attempt.app}"` };
  }
}
