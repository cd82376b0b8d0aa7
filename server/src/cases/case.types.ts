/** Dated facts of a case that the rules need. */
export const CASE_EVENT_KINDS = [
  'penalty-notice-served',
  'hearing-requested',
  'hearing-notice-served',
  'hearing-date',
  'rectification-order-served',
  'rectification-deadline',
  'evidence-preserved',
  'decision-served',
] as const;
export type CaseEventKind = (typeof CASE_EVENT_KINDS)[number];

/**
 * Known order between kinds: the first is never before the second (a deadline is set by an order
 * already served; a hearing is requested after the penalty notice, …). Checked when an event is
 * added, against the earliest event of the earlier kind.
 */
export const CASE_EVENT_ORDER: readonly (readonly [later: CaseEventKind, earlier: CaseEventKind])[] = [
  ['rectification-deadline', 'rectification-order-served'],
  ['hearing-requested', 'penalty-notice-served'],
  ['hearing-notice-served', 'penalty-notice-served'],
  ['hearing-date', 'hearing-notice-served'],
  ['hearing-date', 'penalty-notice-served'],
  ['decision-served', 'penalty-notice-served'],
];

export interface CaseEvent {
  id: number;
  kind: CaseEventKind;
  /** Calendar date YYYY-MM-DD (Asia/Shanghai). */
  at: string;
  note: string | null;
  createdBy: string;
  createdAt: string;
}

export interface CaseRecord {
  id: string;
  caseNumber: string;
  title: string;
  parties: string[];
  createdBy: string;
  createdAt: string;
}

export interface CaseSummary extends CaseRecord {
  sessionCount: number;
}
