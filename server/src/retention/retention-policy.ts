import type { Config, RetentionClass } from '../config/schema.ts';

/** Hearings are kept for ever (issue 7): no configuration shortens them. */
export const PERMANENT_PROCEDURES: readonly string[] = ['penalty-hearing', 'hearing-notice', 'statement-defence'];

export type RetentionConfig = Config['retention'];

/** Configuration problems of `retention`, one line each naming its key. */
export function retentionProblems(retention: RetentionConfig, procedureIds: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [procedure, kept] of Object.entries(retention.classes)) {
    const key = `retention.classes.${procedure}`;
    if (!procedureIds.includes(procedure)) {
      problems.push(`${key}: unknown procedure "${procedure}" (use one of ${procedureIds.join(', ')})`);
    } else if (PERMANENT_PROCEDURES.includes(procedure) && kept !== 'permanent') {
      problems.push(`${key}: hearings are kept permanently; remove the entry or write "permanent"`);
    }
  }
  return problems;
}

/** The retention class that applies to a procedure. */
export function retentionClassOf(retention: RetentionConfig, procedure: string): RetentionClass {
  if (PERMANENT_PROCEDURES.includes(procedure)) return 'permanent';
  return retention.classes[procedure] ?? retention.default;
}

/** The instant a session's retention ends (ISO), counted from its end; null when kept permanently. */
export function retainedUntil(kept: RetentionClass, endedAt: string): string | null {
  if (kept === 'permanent') return null;
  const until = new Date(endedAt);
  if ('years' in kept) until.setUTCFullYear(until.getUTCFullYear() + kept.years);
  else until.setUTCDate(until.getUTCDate() + kept.days);
  return until.toISOString();
}
