import { createHash } from 'node:crypto';
import type { Db } from '../shared/db/database.ts';
import type { Clock } from '../shared/clock.ts';
import type { AuditEntry, AuditPage, AuditVerification } from './audit.types.ts';

export type { AuditEntry, AuditVerification };

/** Who did something and from where; `actor` is a username, or null for the system itself. */
export interface AuditContext {
  actor: string | null;
  ip?: string | null;
}

interface AuditRow {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  detail_json: string;
  ip: string | null;
  prev_hash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The append-only audit log. Each row carries the hash of the row before it, and its own hash covers
 * its id, content and that link, so changing, removing or reordering any row breaks verification at
 * that row. SQLite triggers refuse UPDATE and DELETE; the chain catches whoever bypasses them.
 */
export class AuditLog {
  private readonly insert;
  private readonly last;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.insert = db.prepare(
      `INSERT INTO audit_log (id, at, actor, action, target, detail_json, ip, prev_hash, hash)
       VALUES (@id, @at, @actor, @action, @target, @detail_json, @ip, @prev_hash, @hash)`,
    );
    this.last = db.prepare<[], { id: number; hash: string }>('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
  }

  /** Appends one record. Runs inside the caller's transaction when there is one. */
  record(context: AuditContext, action: string, target: string | null, detail: Record<string, unknown> = {}): AuditEntry {
    return this.db.transaction(() => {
      const previous = this.last.get();
      const row: AuditRow = {
        id: (previous?.id ?? 0) + 1,
        at: this.clock.now().toISOString(),
        actor: context.actor,
        action,
        target,
        detail_json: JSON.stringify(detail),
        ip: context.ip ?? null,
        prev_hash: previous?.hash ?? GENESIS_HASH,
        hash: '',
      };
      row.hash = hashRow(row);
      this.insert.run(row);
      return toEntry(row);
    })();
  }

  /** Newest first; `beforeId` pages towards older rows. */
  page(options: { beforeId?: number; limit: number }): AuditPage {
    const rows = this.db
      .prepare<[number, number], AuditRow>('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?')
      .all(options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit + 1);
    const more = rows.length > options.limit;
    const entries = rows.slice(0, options.limit).map(toEntry);
    return { entries, nextBeforeId: more ? (entries.at(-1)?.id ?? null) : null };
  }

  /** Walks the whole chain from the first row; stops at the first row that does not match. */
  verify(): AuditVerification {
    let expectedPrev = GENESIS_HASH;
    let expectedId = 1;
    let checked = 0;
    for (const row of this.db.prepare<[], AuditRow>('SELECT * FROM audit_log ORDER BY id').iterate()) {
      const fail = (reason: string): AuditVerification => ({ ok: false, checked, firstBadId: row.id, reason });
      if (row.id !== expectedId) return fail(`row ${expectedId} is missing (next row is ${row.id})`);
      if (row.prev_hash !== expectedPrev) return fail(`row ${row.id} does not link to the row before it`);
      if (hashRow(row) !== row.hash) return fail(`row ${row.id} was changed after it was written`);
      expectedPrev = row.hash;
      expectedId = row.id + 1;
      checked++;
    }
    return { ok: true, checked, firstBadId: null, reason: null };
  }
}

function hashRow(row: AuditRow): string {
  const content = JSON.stringify([row.id, row.at, row.actor, row.action, row.target, row.detail_json, row.ip]);
  return createHash('sha256').update(row.prev_hash).update('\n').update(content).digest('hex');
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    detail: JSON.parse(row.detail_json) as Record<string, unknown>,
    ip: row.ip,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
