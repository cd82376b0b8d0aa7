import { describe, expect, it } from 'vitest';
import { CustodyLog } from '../../../server/src/custody/custody-log.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';
import { openDatabase } from '../../../server/src/shared/db/database.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

describe('custody log', () => {
  it('opens an entry, closes it once with the reason, and refuses rewriting or deleting it', () => {
    const db = openDatabase(':memory:', silentLogger());
    const clock = new ManualClock(new Date('2026-12-04T08:00:00.000Z'));
    const custody = new CustodyLog(db, clock);
    const id = custody.open({ sessionId: null, roomId: 'hearing-1', cameraId: 'h1-wide', username: 'supervisor', action: 'live_view', detail: { viewerId: 'v1' } });
    expect(custody.openEntries('live_view').map((e) => e.id)).toEqual([id]);
    clock.advance(90_000);
    custody.close(id, { endReason: 'stopped' });
    clock.advance(1000);
    custody.close(id, { endReason: 'again' });
    const [entry] = db.prepare('SELECT * FROM custody_log').all() as { started_at: string; ended_at: string; detail: string }[];
    expect(entry).toMatchObject({ started_at: '2026-12-04T08:00:00.000Z', ended_at: '2026-12-04T08:01:30.000Z' });
    expect(JSON.parse(entry!.detail)).toEqual({ viewerId: 'v1', endReason: 'stopped' });
    expect(custody.openEntries()).toEqual([]);
    expect(() => db.prepare("UPDATE custody_log SET username = 'someone-else'").run()).toThrow(/never rewritten/);
    expect(() => db.prepare('DELETE FROM custody_log').run()).toThrow(/never deleted/);
  });
});
