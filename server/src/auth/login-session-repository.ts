import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../shared/db/database.ts';
import type { Clock } from '../shared/clock.ts';

export interface LoginSession {
  userId: number;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
}

interface LoginSessionRow {
  token_hash: string;
  user_id: number;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Server-side login sessions. The cookie carries a random token; only its SHA-256 is stored, so a
 * copy of the database does not let anyone log in.
 */
export class LoginSessionRepository {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly limits: { idleTimeoutMinutes: number; maxSessionHours: number },
  ) {}

  create(userId: number, client: { ip: string | null; userAgent: string | null }): { token: string; session: LoginSession } {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const session: LoginSession = {
      userId,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.limits.maxSessionHours * 3_600_000).toISOString(),
      lastSeenAt: now.toISOString(),
    };
    this.db
      .prepare(
        `INSERT INTO login_sessions (token_hash, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(hashToken(token), userId, session.createdAt, session.expiresAt, session.lastSeenAt, client.ip, client.userAgent?.slice(0, 300) ?? null);
    return { token, session };
  }

  /** The live session for a token, refreshed; null when unknown, idle too long or past its end. */
  touch(token: string): LoginSession | null {
    const tokenHash = hashToken(token);
    const row = this.db.prepare<[string], LoginSessionRow>('SELECT * FROM login_sessions WHERE token_hash = ?').get(tokenHash);
    if (!row) return null;
    const now = this.clock.now();
    const idleLimit = Date.parse(row.last_seen_at) + this.limits.idleTimeoutMinutes * 60_000;
    if (now.getTime() >= Date.parse(row.expires_at) || now.getTime() >= idleLimit) {
      this.db.prepare('DELETE FROM login_sessions WHERE token_hash = ?').run(tokenHash);
      return null;
    }
    // Write the refresh at most once a minute: every API call passes here.
    if (now.getTime() - Date.parse(row.last_seen_at) > 60_000) {
      this.db.prepare('UPDATE login_sessions SET last_seen_at = ? WHERE token_hash = ?').run(now.toISOString(), tokenHash);
      row.last_seen_at = now.toISOString();
    }
    return { userId: row.user_id, createdAt: row.created_at, expiresAt: row.expires_at, lastSeenAt: row.last_seen_at };
  }

  delete(token: string): void {
    this.db.prepare('DELETE FROM login_sessions WHERE token_hash = ?').run(hashToken(token));
  }

  deleteForUser(userId: number, exceptToken?: string): void {
    this.db
      .prepare('DELETE FROM login_sessions WHERE user_id = ? AND token_hash != ?')
      .run(userId, exceptToken ? hashToken(exceptToken) : '');
  }

  deleteExpired(): number {
    const now = this.clock.now();
    const idleSince = new Date(now.getTime() - this.limits.idleTimeoutMinutes * 60_000).toISOString();
    return this.db
      .prepare('DELETE FROM login_sessions WHERE expires_at <= ? OR last_seen_at <= ?')
      .run(now.toISOString(), idleSince).changes;
  }
}
