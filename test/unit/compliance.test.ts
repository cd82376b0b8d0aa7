import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadChecklist, CHECKLIST_FILE } from '../../server/src/checklist/checklist.ts';
import { checkCompliance, loadComplianceRules, RULES_FILE, type ComplianceInput } from '../../server/src/compliance/compliance.ts';
import { HolidayCalendar } from '../../server/src/compliance/holiday-calendar.ts';
import { OFFICER_ROLES } from '../../server/src/sessions/session.types.ts';

const FIXTURE_CALENDAR = new URL('../fixtures/holidays-fixture.yaml', import.meta.url).pathname;
const checklist = loadChecklist();
const rules = loadComplianceRules();
const calendar = HolidayCalendar.load(FIXTURE_CALENDAR);
const ctx = { checklist, rules, calendar, officerRoles: OFFICER_ROLES };
const procedure = (id: string) => checklist.procedures.find((p) => p.id === id)!;

// A hearing on Thursday 2031-10-16, 09:00 Beijing (01:00 UTC); the notice went out 10 working days before.
const T0 = Date.parse('2031-10-16T01:00:00.000Z');
const minute = 60_000;
function hearing(overrides: Partial<ComplianceInput> = {}): ComplianceInput {
  return {
    procedure: procedure('penalty-hearing'),
    stages: [18, 19, 20, 21, 22, 23, 24, 25].map((item, i) => ({ item, fromMs: T0 + 30_000 + i * 5 * minute })),
    participants: [{ role: 'presiding' }, { role: 'clerk' }, { role: 'investigator' }, { role: 'investigator' }, { role: 'party' }],
    footage: ['h1-wide', 'h1-presiding'].map((cameraId) => ({ cameraId, source: 'fixed' as const, startedMs: T0 + 30_000 - 12_000, endedMs: T0 + 30_000 + 7 * 5 * minute + 60_000 })),
    interruptions: [],
    caseEvents: [{ kind: 'penalty-notice-served', at: '2031-09-15' }, { kind: 'hearing-notice-served', at: '2031-09-25' }],
    startedAt: new Date(T0).toISOString(),
    endedAt: new Date(T0 + 60 * minute).toISOString(),
    preRollS: 10,
    ...overrides,
  };
}
const brief = (input: ComplianceInput, c = ctx) => checkCompliance(input, c).map((f) => [f.item, f.rule, f.severity]);

describe('holiday calendar', () => {
  it('counts working days after the first date up to the second: weekends and holidays out, make-up days in', () => {
    // 2031-09-26 (Fri) → 2031-10-03 (Fri): 09-28 is a make-up Sunday, 09-29/30 work, 10-01..03 holiday.
    expect(calendar.count('2031-09-26', '2031-10-03', 'working')).toEqual({ days: 3, unknownYears: [] });
    expect(calendar.count('2031-09-26', '2031-10-03', 'calendar').days).toBe(7);
    expect(calendar.isWorkingDay('2031-10-11')).toBe(true); // a Saturday made a working day
    expect(calendar.isWorkingDay('2031-10-06')).toBe(false); // a Monday in the holiday
    expect(calendar.count('2031-12-30', '2032-01-02', 'working').unknownYears).toEqual([2032]);
  });

  it('reads the published years of config/holidays-cn.yaml', () => {
    const real = HolidayCalendar.load();
    expect(real.isWorkingDay('2025-09-28')).toBe(true); // Sunday, 调休上班
    expect(real.isWorkingDay('2025-10-08')).toBe(false);
    expect(real.count('2025-09-26', '2025-10-03', 'working').days).toBe(3);
  });
});

describe('compliance against the 2024 checklist', () => {
  it('a complete hearing has no error', () => {
    expect(checkCompliance(hearing(), ctx).filter((f) => f.severity === 'error')).toEqual([]);
    expect(brief(hearing())).toEqual([]);
  });

  it('a missing stage 22 gives exactly that finding, citing the item and its text', () => {
    const input = hearing();
    const findings = checkCompliance({ ...input, stages: input.stages.filter((s) => s.item !== 22) }, ctx);
    expect(findings.map((f) => [f.item, f.rule, f.severity])).toEqual([[22, 'stage-missing', 'error']]);
    expect(findings[0]!.message.zh).toContain(checklist.items.find((i) => i.item === 22)!.matter);
  });

  it('one stage out of order gives exactly one finding', () => {
    const input = hearing();
    const swapped = input.stages.map((s) => (s.item === 20 ? { ...s, item: 21 } : s.item === 21 ? { ...s, item: 20 } : s));
    expect(brief({ ...input, stages: swapped })).toEqual([[20, 'stage-order', 'error']]);
  });

  it('a service-direct session (item 26 needs two officers) with a single officer', () => {
    const input = hearing({
      procedure: procedure('service-direct'),
      stages: [{ item: 26, fromMs: T0 + 30_000 }],
      participants: [{ role: 'officer' }, { role: 'party' }],
      footage: [{ cameraId: 'bodycam-1', source: 'portable', startedMs: T0, endedMs: T0 + 10 * minute }],
      caseEvents: [],
    });
    expect(brief(input)).toEqual([[26, 'officer-count', 'error']]);
    expect(brief({ ...input, participants: [{ role: 'officer' }, { role: 'investigator' }] })).toEqual([]);
  });

  it('recording that began after the first stage is flagged per camera', () => {
    const input = hearing();
    const late = input.footage.map((f, i) => (i === 0 ? { ...f, startedMs: input.stages[0]!.fromMs + 5000 } : f));
    expect(brief({ ...input, footage: late })).toEqual([[18, 'recording-lead', 'error']]);
  });

  it('a notice 5 working days before the hearing is too late', () => {
    // After Friday 10-10: 10-11 (make-up Saturday), 10-13, 10-14, 10-15, 10-16.
    const input = hearing({ caseEvents: [{ kind: 'hearing-notice-served', at: '2031-10-10' }] });
    expect(calendar.count('2031-10-10', '2031-10-16', 'working').days).toBe(5);
    expect(brief(input)).toEqual([[17, 'hearing-notice-period', 'error']]);
  });

  it('a notice 7 calendar days before the hearing that spans a holiday is judged by working days', () => {
    // Hearing on Wednesday 2031-10-08; notice on Wednesday 2031-10-01: 7 calendar days, 1 working day (10-08).
    const day = Date.parse('2031-10-08T01:00:00.000Z');
    const input = hearing({ startedAt: new Date(day).toISOString(), caseEvents: [{ kind: 'hearing-notice-served', at: '2031-10-01' }] });
    const findings = checkCompliance(input, ctx).filter((f) => f.rule === 'hearing-notice-period');
    expect(findings.map((f) => f.severity)).toEqual(['error']);
    expect(findings[0]!.message.en).toContain('1 working days');
  });

  it('a date outside the calendar is warned about, never silently judged', () => {
    const input = hearing({ startedAt: '2032-01-06T01:00:00.000Z', caseEvents: [{ kind: 'hearing-notice-served', at: '2031-12-20' }] });
    expect(brief(input)).toEqual([[17, 'hearing-notice-period', 'warning']]);
  });

  it('interruptions: unexplained ones are errors, explained ones and recesses are listed', () => {
    const gap = { id: 1, cameraId: 'h1-wide', cause: 'connection_lost', startedAt: new Date(T0 + 3 * minute).toISOString(), endedAt: new Date(T0 + 3 * minute + 5000).toISOString(), explanation: null };
    const recess = { id: 2, cameraId: null, cause: 'recess', startedAt: new Date(T0 + 20 * minute).toISOString(), endedAt: new Date(T0 + 25 * minute).toISOString(), explanation: '当事人申请休息' };
    expect(brief(hearing({ interruptions: [gap, recess] }))).toEqual([[null, 'interruptions', 'error'], [null, 'interruptions', 'info']]);
  });

  it('editing a copy of the checklist or of the rules changes the findings without code changes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compliance-'));
    const service = hearing({
      procedure: procedure('service-direct'),
      stages: [{ item: 26, fromMs: T0 + 30_000 }],
      participants: [{ role: 'officer' }],
      footage: [{ cameraId: 'bodycam-1', source: 'portable', startedMs: T0, endedMs: T0 + 10 * minute }],
      caseEvents: [],
    });
    expect(brief(service)).toEqual([[26, 'officer-count', 'error']]);
    const checklistCopy = join(dir, 'checklist.yaml');
    writeFileSync(checklistCopy, readFileSync(CHECKLIST_FILE, 'utf8').replace('并由2名执法人员宣读执法文书', '并由执法人员宣读执法文书'));
    const edited = loadChecklist(checklistCopy);
    expect(brief({ ...service, procedure: edited.procedures.find((p) => p.id === 'service-direct')! }, { ...ctx, checklist: edited })).toEqual([]);

    const rulesCopy = join(dir, 'rules.yaml');
    writeFileSync(rulesCopy, readFileSync(RULES_FILE, 'utf8').replace('atLeast: 7, days: working', 'atLeast: 3, days: working'));
    const late = hearing({ caseEvents: [{ kind: 'hearing-notice-served', at: '2031-10-10' }] });
    expect(brief(late)).toEqual([[17, 'hearing-notice-period', 'error']]);
    expect(brief(late, { ...ctx, rules: loadComplianceRules(rulesCopy) })).toEqual([]);
  });

  it('a bad rules file names the rule and key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compliance-'));
    const bad = join(dir, 'rules.yaml');
    writeFileSync(bad, 'rules:\n  - { id: x, kind: time-limit, severity: error, params: { from: a, to: b, days: weekly } }\n');
    expect(() => loadComplianceRules(bad)).toThrow(/rules\.0\.params\.days/);
  });
});
