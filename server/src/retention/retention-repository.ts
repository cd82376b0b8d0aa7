import type { Db } from '../shared/db/database.ts';
import { shanghaiDate } from '../recording/evidence-files.ts';
import { conflict } from '../shared/errors.ts';
import type { DestroyedEvidence, DestructionRecord, DestructionRequest, DestructionRequestState, LegalHold } from './retention.types.ts';

interface HoldRow {
  id: number;
  case_id: string;
  reason: string;
  placed_by: string;
  placed_at: string;
  released_by: string | null;
  released_at: string | null;
  release_reason: string | null;
}
interface RequestRow {
  id: string;
  session_id: string;
  state: DestructionRequestState;
  reason: string;
  requested_by: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  decision_reason: string | null;
}
interface RecordRow {
  session_id: string;
  request_id: string;
  reason: string;
  requested_by: string;
  requested_at: string;
  approved_by: string;
  destroyed_at: string;
  manifest_sha256: string;
  files_json: string;
}

const toHold = (r: HoldRow): LegalHold => ({
  id: r.id, caseId: r.case_id, reason: r.reason, placedBy: r.placed_by, placedAt: r.placed_at,
  releasedBy: r.released_by, releasedAt: r.released_at, releaseReason: r.release_reason,
});
const toRequest = (r: RequestRow): DestructionRequest => ({
  id: r.id, sessionId: r.session_id, state: r.state, reason: r.reason, requestedBy: r.requested_by, requestedAt: r.requested_at,
  decidedBy: r.decided_by, decidedAt: r.decided_at, decisionReason: r.decision_reason,
});
const toRecord = (r: RecordRow): DestructionRecord => ({
  sessionId: r.session_id, requestId: r.request_id, reason: r.reason, requestedBy: r.requested_by, requestedAt: r.requested_at,
  approvedBy: r.approved_by, destroyedAt: r.destroyed_at, manifestSha256: r.manifest_sha256, files: JSON.parse(r.files_json) as DestructionRecord['files'],
});

/** Legal holds, destruction requests and destruction records, as stored (rows decided or released once, never deleted). */
export class RetentionRepository implements DestroyedEvidence {
  constructor(private readonly db: Db) {}

  activeHold(caseId: string): LegalHold | null {
    const row = this.db.prepare<[string], HoldRow>('SELECT * FROM legal_holds WHERE case_id = ? AND released_at IS NULL').get(caseId);
    return row ? toHold(row) : null;
  }

  placeHold(hold: Pick<LegalHold, 'caseId' | 'reason' | 'placedBy' | 'placedAt'>): LegalHold {
    const result = this.db
      .prepare('INSERT INTO legal_holds (case_id, reason, placed_by, placed_at) VALUES (?, ?, ?, ?)')
      .run(hold.caseId, hold.reason, hold.placedBy, hold.placedAt);
    return { ...hold, id: Number(result.lastInsertRowid), releasedBy: null, releasedAt: null, releaseReason: null };
  }

  releaseHold(id: number, by: string, at: string, reason: string): void {
    this.db.prepare('UPDATE legal_holds SET released_by = ?, released_at = ?, release_reason = ? WHERE id = ?').run(by, at, reason, id);
  }

  insertRequest(request: DestructionRequest): void {
    this.db
      .prepare('INSERT INTO destruction_requests (id, session_id, state, reason, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(request.id, request.sessionId, request.state, request.reason, request.requestedBy, request.requestedAt);
  }

  request(id: string): DestructionRequest | null {
    const row = this.db.prepare<[string], RequestRow>('SELECT * FROM destruction_requests WHERE id = ?').get(id);
    return row ? toRequest(row) : null;
  }

  pendingRequest(sessionId: string): DestructionRequest | null {
    const row = this.db.prepare<[string], RequestRow>("SELECT * FROM destruction_requests WHERE session_id = ? AND state = 'pending'").get(sessionId);
    return row ? toRequest(row) : null;
  }

  requests(state: DestructionRequestState | undefined): DestructionRequest[] {
    const rows = state
      ? this.db.prepare<[string], RequestRow>('SELECT * FROM destruction_requests WHERE state = ? ORDER BY requested_at DESC, id').all(state)
      : this.db.prepare<[], RequestRow>('SELECT * FROM destruction_requests ORDER BY requested_at DESC, id').all();
    return rows.map(toRequest);
  }

  decide(id: string, state: Exclude<DestructionRequestState, 'pending'>, by: string, at: string, reason: string | null): void {
    const result = this.db
      .prepare("UPDATE destruction_requests SET state = ?, decided_by = ?, decided_at = ?, decision_reason = ? WHERE id = ? AND state = 'pending'")
      .run(state, by, at, reason, id);
    if (result.changes !== 1) {
      throw conflict('request_decided', { en: 'This destruction request was decided already.', zh: '该销毁申请已处理。' });
    }
  }

  insertRecord(record: DestructionRecord): void {
    this.db
      .prepare(
        `INSERT INTO destruction_records (session_id, request_id, reason, requested_by, requested_at, approved_by, destroyed_at, manifest_sha256, files_json)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(record.sessionId, record.requestId, record.reason, record.requestedBy, record.requestedAt, record.approvedBy, record.destroyedAt, record.manifestSha256, JSON.stringify(record.files));
  }

  records(): DestructionRecord[] {
    return this.db.prepare<[], RecordRow>('SELECT * FROM destruction_records ORDER BY destroyed_at').all().map(toRecord);
  }

  record(sessionId: string): DestructionRecord | null {
    const row = this.db.prepare<[string], RecordRow>('SELECT * FROM destruction_records WHERE session_id = ?').get(sessionId);
    return row ? toRecord(row) : null;
  }

  /** Finished export packages of a session kept on the server: copies of its media. */
  exportPackages(sessionId: string): { file: string; sha256: string; bytes: number }[] {
    return this.db
      .prepare<[string], { file: string; sha256: string; bytes: number }>(
        "SELECT file, sha256, bytes FROM evidence_exports WHERE session_id = ? AND state = 'ready' AND file IS NOT NULL ORDER BY created_at, id",
      )
      .all(sessionId);
  }

  assertNotDestroyed(sessionId: string): void {
    const record = this.record(sessionId);
    if (!record) return;
    const day = shanghaiDate(new Date(record.destroyedAt));
    throw conflict('destroyed', {
      en: `The recordings of this session were destroyed past their retention on ${day} (Beijing time; requested by ${record.requestedBy}, approved by ${record.approvedBy}); the manifest, hashes and destruction record are kept.`,
      zh: `此记录的音视频已于 ${day}（北京时间）依保存期限销毁（申请人 ${record.requestedBy}，批准人 ${record.approvedBy}），清单、哈希值和销毁记录仍予保留。`,
    });
  }

  destroyedFiles(sessionId: string): ReadonlySet<string> | null {
    const record = this.record(sessionId);
    return record ? new Set(record.files.map((f) => f.file)) : null;
  }
}
