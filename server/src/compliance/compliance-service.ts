import type { Checklist } from '../checklist/checklist.ts';
import type { CaseRepository } from '../cases/case-repository.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import type { Caller, SessionService } from '../sessions/session-service.ts';
import { OFFICER_ROLES } from '../sessions/session.types.ts';
import { checkCompliance, type ComplianceFinding, type ComplianceRule } from './compliance.ts';
import type { HolidayCalendar } from './holiday-calendar.ts';

/** Gathers a session's stages, participants, footage and case dates, and judges them by the rules. */
export class ComplianceService {
  constructor(
    private readonly sessions: SessionService,
    private readonly cases: CaseRepository,
    private readonly segments: SegmentRepository,
    private readonly checklist: Checklist,
    private readonly rules: readonly ComplianceRule[],
    private readonly calendar: HolidayCalendar,
    private readonly preRollS: number,
  ) {}

  /** Throws the session service's 404/403 when the caller may not read the session. */
  check(caller: Caller, sessionId: string): ComplianceFinding[] {
    const session = this.sessions.view(caller, sessionId);
    const procedure = this.checklist.procedures.find((p) => p.id === session.procedure);
    if (!procedure) return [];
    const spans = new Map<string, { startedMs: number; endedMs: number }>();
    for (const s of this.segments.list(sessionId)) {
      const span = spans.get(s.cameraId);
      const [from, to] = [Date.parse(s.startedAt), Date.parse(s.endedAt)];
      if (!span) spans.set(s.cameraId, { startedMs: from, endedMs: to });
      else spans.set(s.cameraId, { startedMs: Math.min(span.startedMs, from), endedMs: Math.max(span.endedMs, to) });
    }
    const source = session.roomId ? 'fixed' : 'portable';
    return checkCompliance(
      {
        procedure,
        stages: session.stages.map((s) => ({ item: s.item, fromMs: Date.parse(s.from) })),
        participants: session.participants,
        footage: [...spans].map(([cameraId, span]) => ({ cameraId, source, ...span })),
        interruptions: session.interruptions,
        caseEvents: this.cases.events(session.caseId),
        startedAt: session.startedAt,
        endedAt: session.endedAt,
        preRollS: this.preRollS,
      },
      { checklist: this.checklist, rules: this.rules, calendar: this.calendar, officerRoles: OFFICER_ROLES },
    );
  }
}
