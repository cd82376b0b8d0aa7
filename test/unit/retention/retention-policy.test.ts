import { describe, expect, it } from 'vitest';
import { loadChecklist } from '../../../server/src/checklist/checklist.ts';
import { retainedUntil, retentionClassOf, retentionProblems } from '../../../server/src/retention/retention-policy.ts';

const procedures = loadChecklist().procedures.map((p) => p.id);

describe('retention policy', () => {
  it('keeps hearings permanently whatever the default, and applies a class or the default to the rest', () => {
    const retention = { default: { years: 30 }, classes: { interview: { days: 90 } } } as const;
    for (const hearing of ['penalty-hearing', 'hearing-notice', 'statement-defence']) expect(retentionClassOf(retention, hearing)).toBe('permanent');
    expect(retentionClassOf(retention, 'interview')).toEqual({ days: 90 });
    expect(retentionClassOf(retention, 'seizure')).toEqual({ years: 30 });
    expect(retentionClassOf({ default: 'permanent', classes: {} }, 'seizure')).toBe('permanent');
  });

  it('counts retention from the end of the session in calendar years or days, UTC with milliseconds', () => {
    expect(retainedUntil({ years: 10 }, '2026-12-04T08:00:00.123Z')).toBe('2036-12-04T08:00:00.123Z');
    expect(retainedUntil({ days: 30 }, '2026-12-04T08:00:00.123Z')).toBe('2027-01-03T08:00:00.123Z');
    expect(retainedUntil({ days: 0 }, '2026-12-04T08:00:00.123Z')).toBe('2026-12-04T08:00:00.123Z');
    // 29 February plus one year rolls to 1 March, never earlier.
    expect(retainedUntil({ years: 1 }, '2028-02-29T00:00:00.000Z')).toBe('2029-03-01T00:00:00.000Z');
    expect(retainedUntil('permanent', '2026-12-04T08:00:00.123Z')).toBeNull();
  });

  it('names the key of an unknown procedure and of a hearing given a shorter class', () => {
    expect(retentionProblems({ default: { years: 30 }, classes: { interview: { days: 1 }, 'hearing-notice': 'permanent' } }, procedures)).toEqual([]);
    expect(retentionProblems({ default: { years: 30 }, classes: { interveiw: { days: 1 }, 'statement-defence': { years: 100 } } }, procedures)).toEqual([
      expect.stringMatching(/^retention\.classes\.interveiw: unknown procedure "interveiw" \(use one of penalty-hearing, interview,/),
      'retention.classes.statement-defence: hearings are kept permanently; remove the entry or write "permanent"',
    ]);
  });
});
