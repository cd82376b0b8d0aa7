/**
 * The audit API's response shapes, shared by server and client. This file imports nothing, so the
 * client can use it as it is.
 */

export interface AuditEntry {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
  ip: string | null;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  checked: number;
  /** The first row whose content or link does not match, when the chain is broken. */
  firstBadId: number | null;
  reason: string | null;
}

/** One page of `GET /api/audit`, newest first. */
export interface AuditPage {
  entries: AuditEntry[];
  nextBeforeId: number | null;
}
