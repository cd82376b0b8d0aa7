import type { RetentionClass } from '../config/schema.ts';

export interface LegalHold {
  id: number;
  caseId: string;
  reason: string;
  placedBy: string;
  placedAt: string;
  releasedBy: string | null;
  releasedAt: string | null;
  releaseReason: string | null;
}

export type DestructionRequestState = 'pending' | 'approved' | 'rejected';

export interface DestructionRequest {
  id: string;
  sessionId: string;
  state: DestructionRequestState;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
}

/** One file removed by a destruction, with the hash and size it had when it was written. */
export interface DestroyedFile {
  /** Relative to DATA_DIR. */
  file: string;
  sha256: string;
  bytes: number;
}

/** The destruction record (销毁记录) of a session: kept for ever beside its manifest and segment rows. */
export interface DestructionRecord {
  sessionId: string;
  requestId: string;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  approvedBy: string;
  destroyedAt: string;
  manifestSha256: string;
  files: DestroyedFile[];
}

/** A sealed session past its retention, not under hold: listed for a person to decide, never destroyed by the job. */
export interface RetentionCandidate {
  sessionId: string;
  caseId: string;
  caseNumber: string;
  title: string;
  procedure: string;
  endedAt: string;
  retention: RetentionClass;
  retainedUntil: string;
  /** A pending destruction request, if one was made. */
  pendingRequestId: string | null;
}

/** What replay, export and the scrub ask about destroyed sessions. */
export interface DestroyedEvidence {
  /** Throws 409 `destroyed` when the session's media was destroyed. */
  assertNotDestroyed(sessionId: string): void;
  /** The files (relative to DATA_DIR) destroyed for a session; null when none were. */
  destroyedFiles(sessionId: string): ReadonlySet<string> | null;
}
