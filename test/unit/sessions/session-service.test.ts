import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../server/src/audit/audit-log.ts';
import { CaseRepository } from '../../../server/src/cases/case-repository.ts';
import { CaseService } from '../../../server/src/cases/case-service.ts';
import { loadChecklist } from '../../../server/src/checklist/checklist.ts';
import { RoomRepository } from '../../../server/src/rooms/room-repository.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';
import { openDatabase, type Db } from '../../../server/src/shared/db/database.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';
import { SessionRepository } from '../../../server/src/sessions/session-repository.ts';
import { SessionService, type Caller } from '../../../server/src/sessions/session-service.ts';
import type { SessionLifecycleHooks, SessionRecord } from '../../../server/src/sessions/session.types.ts';

const T0 = new Date('2026-12-04T01:00:00.000Z');
const clerk: Caller = { user: { username: 'clerk', roles: ['clerk'], rooms: ['hearing-1'] }, ip: '127.0.0.1' };

let db: Db;
let clock: ManualClock;
let service: SessionService;
let calls: string[];
let published: string[];
let hooks: SessionLifecycleHooks & { fail: string | null };

beforeEach(() => {
  db = openDatabase(':memory:', silentLogger());
  clock = new ManualClock(T0);
  const audit = new AuditLog(db, clock);
  const rooms = new RoomRepository(db, clock);
  rooms.create({ id: 'hearing-1', name: '听证室一', kind: 'hearing' });
  const sessions = new SessionRepository(db);
  const cases = new CaseService(db, new CaseRepository(db), sessions, audit, clock);
  calls = [];
  published = [];
  const hook = (name: string) => (session: SessionRecord) => {
    calls.push(`${name} ${session.state} ${session.startedAt ?? '-'} ${session.endedAt ?? '-'}`);
    if (hooks.fail === name) throw new Error(`${name} failed`);
  };
  hooks = { fail: null, onStart: hook('onStart'), onStop: hook('onStop'), onRecess: hook('onRecess'), onResume: hook('onResume'), beforeSeal: hook('beforeSeal') };
  service = new SessionService(db, sessions, cases, rooms, loadChecklist(), audit, clock, silentLogger(), {
    state: (_s, change, stage) => published.push(`state ${change.to} ${stage?.item ?? '-'}`),
    mark: (_s, mark, stage) => published.push(`mark ${mark.item} ${stage?.item ?? '-'}`),
  }, hooks);
});

const open = () => service.create(clerk, { caseNumber: '应急罚〔2026〕1号', title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [] }).id;

describe('the session service', () => {
  it('calls the recording hooks with the session as it will be, at the clock time', async () => {
    const id = open();
    await service.start(clerk, id);
    clock.advance(60_000);
    await service.recess(clerk, id, '休息');
    clock.advance(60_000);
    await service.resume(clerk, id);
    clock.advance(60_000);
    await service.stop(clerk, id);
    await service.seal(clerk, id);
    expect(calls).toEqual([
      'onStart recording 2026-12-04T01:00:00.000Z -',
      'onRecess recess 2026-12-04T01:00:00.000Z -',
      'onResume recording 2026-12-04T01:00:00.000Z -',
      'onStop ended 2026-12-04T01:00:00.000Z 2026-12-04T01:03:00.000Z',
      'beforeSeal sealed 2026-12-04T01:00:00.000Z 2026-12-04T01:03:00.000Z',
    ]);
    expect(published).toEqual(['state recording -', 'state recess -', 'state recording -', 'state ended -', 'state sealed -']);
    expect(service.view(clerk, id).interruptions).toMatchObject([{ cause: 'recess', startedAt: '2026-12-04T01:01:00.000Z', endedAt: '2026-12-04T01:02:00.000Z', explanation: '休息' }]);
  });

  it('keeps the state when a hook refuses: a failed start leaves the session scheduled and the room free', async () => {
    const id = open();
    hooks.fail = 'onStart';
    await expect(service.start(clerk, id)).rejects.toThrow('onStart failed');
    const view = service.view(clerk, id);
    expect(view).toMatchObject({ state: 'scheduled', startedAt: null });
    expect(view.history.map((h) => h.to)).toEqual(['scheduled']);
    expect(published).toEqual([]);
    hooks.fail = null;
    const other = open();
    await expect(service.start(clerk, other)).resolves.toMatchObject({ state: 'recording' });
  });

  it('keeps an ended session unsealed when the seal hook fails', async () => {
    const id = open();
    await service.start(clerk, id);
    await service.stop(clerk, id);
    hooks.fail = 'beforeSeal';
    await expect(service.seal(clerk, id)).rejects.toThrow('beforeSeal failed');
    expect(service.view(clerk, id)).toMatchObject({ state: 'ended', sealedAt: null, sealedBy: null });
  });

  it('derives stages for recording at the marks effective times, and publishes marks with the current stage', async () => {
    const id = open();
    await service.start(clerk, id);
    clock.advance(10_000);
    service.addMark(clerk, id, { item: 18, clientId: crypto.randomUUID(), clientTime: clock.now().toISOString(), clockOffsetMs: 0 });
    clock.advance(30_000);
    // Clicked 5 s after 18 but delivered 30 s later.
    service.addMark(clerk, id, { item: 19, clientId: crypto.randomUUID(), clientTime: new Date(T0.getTime() + 15_000).toISOString(), clockOffsetMs: 0 });
    expect(service.stages(id).map((s) => [s.item, s.fromMs - T0.getTime(), s.toMs])).toEqual([
      [18, 10_000, 15_000 + T0.getTime()],
      [19, 15_000, null],
    ]);
    expect(published.filter((p) => p.startsWith('mark'))).toEqual(['mark 18 18', 'mark 19 19']);
  });
});
