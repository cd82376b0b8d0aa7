// Shapes of the session API the console reads (docs/api.md, Sessions); the server's own types where
// they exist, so a change there is a type error here.
import type { Interruption, SessionRecord, SessionView } from '../../../../server/src/sessions/session.types.ts';
import type { EffectiveMark, SessionState, StageInfo } from '../../../../server/src/realtime/events.ts';

export type { EffectiveMark, Interruption, SessionState, StageInfo };

export type ParticipantRole = SessionView['participants'][number]['role'];

/** Participant roles in the order the form offers them. */
export const PARTICIPANT_ROLES: readonly ParticipantRole[] = ['presiding', 'hearing-officer', 'clerk', 'investigator', 'officer', 'party', 'agent', 'witness', 'interpreter'];
/** Roles that need a badge number (the server refuses them without). */
export const BADGE_ROLES: readonly ParticipantRole[] = ['officer', 'investigator'];

export interface ClockEntry {
  subject: string;
  offsetMs: number | null;
  synchronized: boolean | null;
  source: string;
  detail: string | null;
  measuredAt: string;
}

export interface Manifest {
  file: string;
  sha256: string;
  writtenAt: string;
  /** The key that signed the manifest at seal; null for a session sealed before signing existed. */
  keyFingerprint: string | null;
}

/** GET /api/sessions/:id */
export interface SessionDetail extends SessionView {
  manifest: Manifest | null;
  clock: ClockEntry[];
}

/** A row of GET /api/sessions: the session as stored, with its current stage. */
export type SessionRow = SessionRecord & { currentStage: StageInfo | null };

export interface ProcedureRow {
  id: string;
  name: string;
  items: number[];
  roomKinds: string[];
}

export interface CaseRow {
  id: string;
  caseNumber: string;
  title: string;
}

export interface Finding {
  item: number | null;
  rule: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
}

export interface SegmentRow {
  cameraId: string;
  seq: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  bytes: number;
}
