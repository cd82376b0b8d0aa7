import type { EffectiveMark } from '../realtime/events.ts';
import type { CorrectionKind } from './stages.ts';

export type { CorrectionKind };

/** `scheduled → recording ⇄ recess → ended → sealed`. */
export const SESSION_STATES = ['scheduled', 'recording', 'recess', 'ended', 'sealed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** Participant roles of CONTRACTS.md. */
export const PARTICIPANT_ROLES = ['presiding', 'hearing-officer', 'clerk', 'investigator', 'officer', 'party', 'agent', 'witness', 'interpreter'] as const;
export type ParticipantRole = (typeof PARTICIPANT_ROLES)[number];
/** Counted as enforcement officers (two are needed by some rules); each carries a badge number. */
export const OFFICER_ROLES: readonly ParticipantRole[] = ['officer', 'investigator'];

/** The cause of a recess interruption; recording adds its own causes (camera lost, disk floor, …). */
export const RECESS_CAUSE = 'recess';

export interface ParticipantInput {
  name: string;
  role: ParticipantRole;
  idNumber?: string | undefined;
  badgeNumber?: string | undefined;
}

export interface Participant {
  name: string;
  role: ParticipantRole;
  /** Full to roles that need it (legal), masked otherwise; null when none was given. */
  idNumber: string | null;
  badgeNumber: string | null;
}

export interface SessionRecord {
  id: string;
  caseId: string;
  title: string;
  procedure: string;
  roomId: string | null;
  state: SessionState;
  createdBy: string;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  sealedAt: string | null;
  sealedBy: string | null;
}

export interface StateChange {
  from: SessionState | null;
  to: SessionState;
  at: string;
  actor: string;
  reason: string | null;
}

/** A mark as delivered; never changed. */
export interface MarkRecord {
  id: string;
  seq: number;
  sessionId: string;
  clientId: string;
  item: number | null;
  note: string | null;
  clientTime: string;
  clockOffsetMs: number | null;
  serverTime: string;
  effectiveAt: string;
  delayed: boolean;
  createdBy: string;
}

export interface CorrectionRecord {
  id: string;
  seq: number;
  sessionId: string;
  markId: string;
  kind: CorrectionKind;
  at: string | null;
  item: number | null;
  reason: string;
  createdBy: string;
  createdAt: string;
}

/** A mark with its corrections applied (the shape the socket sends too). */
export type EffectiveMarkView = EffectiveMark;

export interface Interruption {
  id: number;
  sessionId: string;
  /** null when the whole session was interrupted (a recess). */
  cameraId: string | null;
  startedAt: string;
  endedAt: string | null;
  cause: string;
  explanation: string | null;
  explainedBy: string | null;
  explainedAt: string | null;
}

export interface StageView {
  item: number;
  from: string;
  to: string | null;
}

export interface SessionView extends SessionRecord {
  caseNumber: string;
  participants: Participant[];
  history: StateChange[];
  /** Marks with corrections applied, in time order (voided ones flagged, not removed). */
  marks: EffectiveMarkView[];
  /** The records as stored: marks as delivered and the corrections made to them. */
  records: { marks: MarkRecord[]; corrections: CorrectionRecord[] };
  stages: StageView[];
  currentStage: StageView | null;
  interruptions: Interruption[];
}

/**
 * The seam for recording: the session service calls these as the state changes, inside no
 * transaction and after the checks passed. A hook that throws refuses the change (the state stays
 * as it was) — `onStart` when the room's cameras cannot be adopted, `beforeSeal` when files cannot
 * be made read-only or the manifest written. The default does nothing.
 */
export interface SessionLifecycleHooks {
  onStart(session: SessionRecord): Promise<void> | void;
  onStop(session: SessionRecord): Promise<void> | void;
  onRecess(session: SessionRecord, reason: string): Promise<void> | void;
  onResume(session: SessionRecord): Promise<void> | void;
  beforeSeal(session: SessionRecord): Promise<void> | void;
}

export const noLifecycleHooks: SessionLifecycleHooks = {
  onStart: () => {},
  onStop: () => {},
  onRecess: () => {},
  onResume: () => {},
  beforeSeal: () => {},
};

/** What goes out over socket.io (wired to the gateway in main.ts). */
export interface SessionPublisher {
  state(session: SessionRecord, change: StateChange, currentStage: StageView | null): void;
  mark(session: SessionRecord, mark: EffectiveMarkView, currentStage: StageView | null): void;
}
