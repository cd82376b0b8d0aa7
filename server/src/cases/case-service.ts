import { randomUUID } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import type { User } from '../auth/user-repository.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';
import { badRequest, conflict, notFound } from '../shared/errors.ts';
import { canReadSession } from '../sessions/session-access.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { SessionState } from '../sessions/session.types.ts';
import type { CaseRepository } from './case-repository.ts';
import type { LegalHold } from '../retention/retention.types.ts';
import { CASE_EVENT_ORDER, type CaseEvent, type CaseEventKind, type CaseRecord, type CaseSummary } from './case.types.ts';

export interface CaseInput {
  caseNumber: string;
  title: string;
  parties: string[];
}

export interface CaseEventInput {
  kind: CaseEventKind;
  at: string;
  note?: string | undefined;
}

export interface CaseView extends CaseRecord {
  events: CaseEvent[];
  sessions: { id: string; title: string; procedure: string; roomId: string | null; state: SessionState; startedAt: string | null; endedAt: string | null }[];
  /** The active legal hold, null when none (docs/evidence.md). */
  legalHold: LegalHold | null;
}

type Actor = AuditContext & { actor: string };
const CASE = { en: 'The case', zh: '该案件' };

/** Cases (案件): a case number, a title, parties and dated events; many sessions belong to one. */
export class CaseService {
  constructor(
    private readonly db: Db,
    private readonly cases: CaseRepository,
    private readonly sessions: SessionRepository,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly holds?: { activeHold(caseId: string): LegalHold | null },
  ) {}

  create(by: Actor, input: CaseInput): CaseRecord {
    return this.db.transaction(() => {
      const existing = this.cases.byNumber(input.caseNumber);
      if (existing) {
        throw conflict('case_exists', {
          en: `A case with the number ${input.caseNumber} already exists (${existing.title}): open that case instead.`,
          zh: `案号 ${input.caseNumber} 已存在（${existing.title}），请直接打开该案件。`,
        });
      }
      const record: CaseRecord = { id: randomUUID(), ...input, createdBy: by.actor, createdAt: this.clock.now().toISOString() };
      this.cases.insert(record);
      this.audit.record(by, 'case.created', record.id, { caseNumber: record.caseNumber, title: record.title, parties: record.parties.length });
      return record;
    })();
  }

  /** The case with this number, created (with no parties yet) when there is none. */
  findOrCreateByNumber(by: Actor, caseNumber: string, title: string): CaseRecord {
    return this.cases.byNumber(caseNumber) ?? this.create(by, { caseNumber, title, parties: [] });
  }

  get(id: string): CaseRecord {
    const found = this.cases.get(id);
    if (!found) throw notFound(CASE);
    return found;
  }

  search(query: string, limit: number, offset: number): { cases: CaseSummary[]; total: number } {
    return this.cases.search(query.trim(), limit, offset);
  }

  /** The case with its events and the sessions this user may read. */
  view(user: Pick<User, 'username' | 'roles' | 'rooms'>, id: string): CaseView {
    const record = this.get(id);
    return {
      ...record,
      events: this.cases.events(id),
      sessions: this.sessions
        .listByCase(id)
        .filter((s) => canReadSession(user, s))
        .map((s) => ({ id: s.id, title: s.title, procedure: s.procedure, roomId: s.roomId, state: s.state, startedAt: s.startedAt, endedAt: s.endedAt })),
      legalHold: this.holds?.activeHold(id) ?? null,
    };
  }

  addEvent(by: Actor, caseId: string, input: CaseEventInput): CaseEvent {
    return this.db.transaction(() => {
      this.get(caseId);
      const event: Omit<CaseEvent, 'id'> = { kind: input.kind, at: input.at, note: input.note ?? null, createdBy: by.actor, createdAt: this.clock.now().toISOString() };
      const problem = orderProblem([...this.cases.events(caseId), { ...event, id: 0 }]);
      if (problem) {
        throw badRequest('event_out_of_order', {
          en: `${problem.later.kind} ${problem.later.at} is before ${problem.earlier.kind} ${problem.earlier.at}: check the date.`,
          zh: `${problem.later.kind}（${problem.later.at}）早于 ${problem.earlier.kind}（${problem.earlier.at}），请核对日期。`,
        });
      }
      const id = this.cases.insertEvent(caseId, event);
      this.audit.record(by, 'case.event_added', caseId, { eventId: id, kind: event.kind, at: event.at });
      return { ...event, id };
    })();
  }
}

/** The first known order an event list breaks: a later-kind event before the earliest earlier-kind one. */
export function orderProblem(events: readonly Pick<CaseEvent, 'kind' | 'at'>[]): { later: Pick<CaseEvent, 'kind' | 'at'>; earlier: Pick<CaseEvent, 'kind' | 'at'> } | null {
  for (const [laterKind, earlierKind] of CASE_EVENT_ORDER) {
    const earliest = events.filter((e) => e.kind === earlierKind).sort((a, b) => a.at.localeCompare(b.at))[0];
    if (!earliest) continue;
    const early = events.find((e) => e.kind === laterKind && e.at < earliest.at);
    if (early) return { later: early, earlier: earliest };
  }
  return null;
}
