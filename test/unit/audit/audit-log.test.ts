import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../../server/src/audit/audit-log.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';
import { openDatabase, type Db } from '../../../server/src/shared/db/database.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

function logWithRows(count: number): { db: Db; audit: AuditLog } {
  const db = openDatabase(':memory:', silentLogger());
  const clock = new ManualClock(new Date('2026-12-04T08:00:00.000Z'));
  const audit = new AuditLog(db, clock);
  for (let i = 1; i <= count; i++) {
    audit.record({ actor: `user${i}`, ip: '127.0.0.1' }, 'test.action', `target-${i}`, { i });
    clock.advance(1234);
  }
  return { db, audit };
}

/** What someone with direct write access to the database file could do. */
function bypassAppendOnly(db: Db): void {
  db.exec('DROP TRIGGER audit_log_append_only_update; DROP TRIGGER audit_log_append_only_delete;');
}

describe('audit log', () => {
  it('links each row to the one before and verifies an intact chain', () => {
    const { audit } = logWithRows(5);
    const { entries } = audit.page({ limit: 10 });
    expect(entries.map((e) => e.id)).toEqual([5, 4, 3, 2, 1]);
    expect(entries[4]!.prevHash).toBe('0'.repeat(64));
    for (let i = 0; i < 4; i++) expect(entries[i]!.prevHash).toBe(entries[i + 1]!.hash);
    expect(entries[0]!.at).toBe('2026-12-04T08:00:04.936Z');
    expect(audit.verify()).toEqual({ ok: true, checked: 5, firstBadId: null, reason: null });
  });

  it('pages from newest to oldest', () => {
    const { audit } = logWithRows(7);
    const first = audit.page({ limit: 3 });
    expect(first.entries.map((e) => e.id)).toEqual([7, 6, 5]);
    expect(first.nextBeforeId).toBe(5);
    const last = audit.page({ beforeId: 2, limit: 3 });
    expect(last.entries.map((e) => e.id)).toEqual([1]);
    expect(last.nextBeforeId).toBeNull();
  });

  it('refuses UPDATE and DELETE through SQLite', () => {
    const { db } = logWithRows(2);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE id = 1").run()).toThrow('append-only');
    expect(() => db.prepare('DELETE FROM audit_log WHERE id = 1').run()).toThrow('append-only');
  });

  it.each(['at', 'actor', 'action', 'target', 'detail_json', 'ip'])(
    'changing %s of any row breaks verification at exactly that row',
    (column) => {
      for (const row of [1, 3, 5]) {
        const { db, audit } = logWithRows(5);
        bypassAppendOnly(db);
        const value = column === 'detail_json' ? '{"i":99}' : 'tampered';
        db.prepare(`UPDATE audit_log SET ${column} = ? WHERE id = ?`).run(value, row);
        const result = audit.verify();
        expect(result.ok).toBe(false);
        expect(result.firstBadId).toBe(row);
        expect(result.checked).toBe(row - 1);
      }
    },
  );

  it('a rewritten row with a recomputed hash still breaks the link of the next row', () => {
    const { db, audit } = logWithRows(4);
    bypassAppendOnly(db);
    db.prepare("UPDATE audit_log SET hash = ? WHERE id = 2").run('f'.repeat(64));
    const result = audit.verify();
    expect(result.firstBadId).toBe(2);
  });

  it('a deleted row is found where it is missing', () => {
    const { db, audit } = logWithRows(5);
    bypassAppendOnly(db);
    db.prepare('DELETE FROM audit_log WHERE id = 3').run();
    expect(audit.verify()).toMatchObject({ ok: false, firstBadId: 4, reason: 'row 3 is missing (next row is 4)' });
  });

  it('a deleted last row leaves a chain that still verifies (the known limit of a chain), and new rows link to the new end', () => {
    const { db, audit } = logWithRows(3);
    bypassAppendOnly(db);
    const second = audit.page({ limit: 3 }).entries.find((e) => e.id === 2)!;
    db.prepare('DELETE FROM audit_log WHERE id = 3').run();
    expect(audit.verify()).toMatchObject({ ok: true, checked: 2 });
    const next = audit.record({ actor: null }, 'server.started', null);
    expect(next.id).toBe(3);
    expect(next.prevHash).toBe(second.hash);
    expect(audit.verify()).toMatchObject({ ok: true, checked: 3 });
  });
});
