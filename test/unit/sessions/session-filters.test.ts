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

// The replay search: GET /api/sessions filtered by case number, party, procedure, room, state and
// a date range of Shanghai calendar days.
const clerk: Caller = { user: { username: 'clerk', roles: ['clerk'], rooms: ['hearing-1', 'interview-1'] }, ip: null };
const legal: Caller = { user: { username: 'legal', roles: ['legal'], rooms: [] }, ip: null };
let db: Db;
let clock: ManualClock;
let service: SessionService;
let ids: Record<string, string>;

beforeEach(async () => {
  db = openDatabase(':memory:', silentLogger());
  clock = new ManualClock(new Date('2026-12-03T15:30:00.000Z')); // 23:30 on 3 Dec in Shanghai
  const audit = new AuditLog(db, clock);
  const rooms = new RoomRepository(db, clock);
  rooms.create({ id: 'hearing-1', name: '听证室一', kind: 'hearing' });
  rooms.create({ id: 'interview-1', name: '询问室一', kind: 'interview' });
  const sessions = new SessionRepository(db);
  const cases = new CaseService(db, new CaseRepository(db), sessions, audit, clock);
  service = new SessionService(db, sessions, cases, rooms, loadChecklist(), audit, clock, silentLogger(), { state: () => {}, mark: () => {} });
  cases.create({ actor: 'legal', ip: null }, { caseNumber: '秦应急罚〔2026〕5号', title: '某化工公司', parties: ['河北某化工有限公司'] });
  ids = {};
  ids.a = service.create(clerk, { caseNumber: '秦应急罚〔2026〕5号', title: '听证', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [] }).id;
  await service.start(clerk, ids.a);
  clock.advance(60 * 60_000); // 00:30 on 4 Dec in Shanghai
  ids.b = service.create(clerk, { caseNumber: '秦应急罚〔2026〕12号', title: '询问', procedure: 'interview', roomId: 'interview-1', participants: [{ name: '赵_代理', role: 'agent' }] }).id;
  ids.c = service.create(clerk, { caseNumber: '秦应急检〔2026〕3号', title: '听证二', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [{ name: '钱某', role: 'witness' }] }).id;
});

const found = (filter: Parameters<SessionService['list']>[1]) => service.list(legal, filter).map((s) => Object.entries(ids).find(([, id]) => id === s.id)![0]).sort();

describe('session search', () => {
  it('filters by part of the case number, and names it in each result', () => {
    expect(found({ caseNumber: '罚〔2026〕' })).toEqual(['a', 'b']);
    expect(found({ caseNumber: '12号' })).toEqual(['b']);
    expect(found({ caseNumber: '%' })).toEqual([]);
    expect(service.list(legal, { caseNumber: '5号' })[0]).toMatchObject({ caseNumber: '秦应急罚〔2026〕5号' });
  });

  it('filters by a party of the case or a party or agent of the session, never a witness', () => {
    expect(found({ party: '化工' })).toEqual(['a']);
    expect(found({ party: '赵_' })).toEqual(['b']);
    expect(found({ party: '_' })).toEqual(['b']);
    expect(found({ party: '钱某' })).toEqual([]);
  });

  it('filters by procedure, room and state', () => {
    expect(found({ procedure: 'penalty-hearing' })).toEqual(['a', 'c']);
    expect(found({ roomId: 'interview-1' })).toEqual(['b']);
    expect(found({ state: 'recording' })).toEqual(['a']);
    expect(found({ state: 'scheduled', procedure: 'penalty-hearing' })).toEqual(['c']);
  });

  it('filters by Shanghai calendar days, both ends included', () => {
    expect(found({ from: '2026-12-03', to: '2026-12-03' })).toEqual(['a']);
    expect(found({ from: '2026-12-04' })).toEqual(['b', 'c']);
    expect(found({ to: '2026-12-04' })).toEqual(['a', 'b', 'c']);
    expect(found({ from: '2026-12-05' })).toEqual([]);
  });
});
