import type { Db } from '../shared/db/database.ts';
import type { ExportRecord, ExportState } from './evidence.types.ts';

interface ExportRow {
  id: string;
  session_id: string;
  username: string;
  items: string | null;
  cameras: string | null;
  state: ExportState;
  progress: number;
  file: string | null;
  bytes: number | null;
  sha256: string | null;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

const toRecord = (r: ExportRow): ExportRecord => ({
  id: r.id,
  sessionId: r.session_id,
  username: r.username,
  items: r.items === null ? null : (JSON.parse(r.items) as number[]),
  cameras: r.cameras === null ? null : (JSON.parse(r.cameras) as string[]),
  state: r.state,
  progress: r.progress,
  file: r.file,
  bytes: r.bytes,
  sha256: r.sha256,
  error: r.error,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

/** Manifest signatures (written once at seal) and export jobs. */
export class EvidenceRepository {
  constructor(private readonly db: Db) {}

  saveSignature(sessionId: string, keyFingerprint: string, signedAt: string): void {
    this.db.prepare('INSERT OR IGNORE INTO manifest_signatures (session_id, key_fingerprint, signed_at) VALUES (?, ?, ?)').run(sessionId, keyFingerprint, signedAt);
  }

  signature(sessionId: string): { keyFingerprint: string; signedAt: string } | null {
    const row = this.db
      .prepare<[string], { key_fingerprint: string; signed_at: string }>('SELECT key_fingerprint, signed_at FROM manifest_signatures WHERE session_id = ?')
      .get(sessionId);
    return row ? { keyFingerprint: row.key_fingerprint, signedAt: row.signed_at } : null;
  }

  insertExport(record: Pick<ExportRecord, 'id' | 'sessionId' | 'username' | 'items' | 'cameras' | 'createdAt'>): void {
    this.db
      .prepare("INSERT INTO evidence_exports (id, session_id, username, items, cameras, state, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)")
      .run(record.id, record.sessionId, record.username, record.items ? JSON.stringify(record.items) : null, record.cameras ? JSON.stringify(record.cameras) : null, record.createdAt);
  }

  getExport(id: string): ExportRecord | null {
    const row = this.db.prepare<[string], ExportRow>('SELECT * FROM evidence_exports WHERE id = ?').get(id);
    return row ? toRecord(row) : null;
  }

  setProgress(id: string, state: ExportState, progress: number): void {
    this.db.prepare('UPDATE evidence_exports SET state = ?, progress = ? WHERE id = ?').run(state, progress, id);
  }

  finishExport(id: string, result: { file: string; bytes: number; sha256: string } | { error: string }, at: string): void {
    if ('error' in result) {
      this.db.prepare("UPDATE evidence_exports SET state = 'failed', error = ?, finished_at = ? WHERE id = ?").run(result.error, at, id);
    } else {
      this.db
        .prepare("UPDATE evidence_exports SET state = 'ready', progress = 1, file = ?, bytes = ?, sha256 = ?, finished_at = ? WHERE id = ?")
        .run(result.file, result.bytes, result.sha256, at, id);
    }
  }

  /** Jobs a stopped server left queued or running: failed, to be requested again. */
  failUnfinished(at: string): string[] {
    const ids = this.db.prepare<[], { id: string }>("SELECT id FROM evidence_exports WHERE state IN ('queued', 'running')").all().map((r) => r.id);
    for (const id of ids) this.finishExport(id, { error: 'the server stopped before the export finished; request it again' }, at);
    return ids;
  }
}
