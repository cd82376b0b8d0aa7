import type { Db } from '../shared/db/database.ts';
import type { ImportProbe, ImportRecord, ImportState, TimeZoneInterpretation } from './import.types.ts';

export type { ImportRecord };


export interface StoredFacts {
  file: string;
  sha256: string;
  damaged: boolean;
  damage: string | null;
  probe: ImportProbe | null;
  creationTime: string | null;
  timeZoneSuspect: boolean;
  timeZoneReason: string | null;
  closedAt: string;
}

export interface TimeZoneConfirmation {
  interpretation: TimeZoneInterpretation;
  confirmedBy: string;
  confirmedAt: string;
}

interface ImportRow {
  id: string;
  case_id: string;
  device_id: string;
  item: number;
  file_name: string;
  note: string | null;
  recorded_at_claim: string | null;
  bytes: number;
  chunk_bytes: number;
  created_by: string;
  created_at: string;
  state: ImportState;
  refused_reason: string | null;
  closed_at: string | null;
  file: string | null;
  sha256: string | null;
  damaged: number | null;
  damage: string | null;
  probe: string | null;
  creation_time: string | null;
  time_zone_suspect: number | null;
  time_zone_reason: string | null;
}

const flag = (v: number | null) => (v === null ? null : v !== 0);

const toRecord = (r: ImportRow): ImportRecord => ({
  id: r.id,
  caseId: r.case_id,
  deviceId: r.device_id,
  item: r.item,
  fileName: r.file_name,
  note: r.note,
  recordedAtClaim: r.recorded_at_claim,
  bytes: r.bytes,
  chunkBytes: r.chunk_bytes,
  createdBy: r.created_by,
  createdAt: r.created_at,
  state: r.state,
  refusedReason: r.refused_reason,
  closedAt: r.closed_at,
  file: r.file,
  sha256: r.sha256,
  damaged: flag(r.damaged),
  damage: r.damage,
  probe: r.probe === null ? null : (JSON.parse(r.probe) as ImportProbe),
  creationTime: r.creation_time,
  timeZoneSuspect: flag(r.time_zone_suspect),
  timeZoneReason: r.time_zone_reason,
});

/** The `imports` and `import_time_zone_confirmations` tables: a row is closed once (stored or refused), then never rewritten. */
export class ImportRepository {
  constructor(private readonly db: Db) {}

  insert(r: Pick<ImportRecord, 'id' | 'caseId' | 'deviceId' | 'item' | 'fileName' | 'note' | 'recordedAtClaim' | 'bytes' | 'chunkBytes' | 'createdBy' | 'createdAt'>): void {
    this.db
      .prepare(
        `INSERT INTO imports (id, case_id, device_id, item, file_name, note, recorded_at_claim, bytes, chunk_bytes, created_by, created_at, state)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'uploading')`,
      )
      .run(r.id, r.caseId, r.deviceId, r.item, r.fileName, r.note, r.recordedAtClaim, r.bytes, r.chunkBytes, r.createdBy, r.createdAt);
  }

  get(id: string): ImportRecord | null {
    const row = this.db.prepare<[string], ImportRow>('SELECT * FROM imports WHERE id = ?').get(id);
    return row ? toRecord(row) : null;
  }

  storedOfCase(caseId: string): ImportRecord[] {
    return this.db.prepare<[string], ImportRow>("SELECT * FROM imports WHERE case_id = ? AND state = 'stored' ORDER BY created_at, id").all(caseId).map(toRecord);
  }

  /** Every stored body-camera file (the integrity scrub). */
  allStored(): ImportRecord[] {
    return this.db.prepare<[], ImportRow>("SELECT * FROM imports WHERE state = 'stored' ORDER BY created_at, id").all().map(toRecord);
  }

  uploading(): ImportRecord[] {
    return this.db.prepare<[], ImportRow>("SELECT * FROM imports WHERE state = 'uploading'").all().map(toRecord);
  }

  /** Closes an upload as stored; false when it was no longer uploading. */
  store(id: string, f: StoredFacts): boolean {
    return (
      this.db
        .prepare(
          `UPDATE imports SET state = 'stored', closed_at = ?, file = ?, sha256 = ?, damaged = ?, damage = ?, probe = ?, creation_time = ?, time_zone_suspect = ?, time_zone_reason = ?
           WHERE id = ? AND state = 'uploading'`,
        )
        .run(f.closedAt, f.file, f.sha256, f.damaged ? 1 : 0, f.damage, f.probe === null ? null : JSON.stringify(f.probe), f.creationTime, f.timeZoneSuspect ? 1 : 0, f.timeZoneReason, id).changes === 1
    );
  }

  /** Closes an upload as refused; false when it was no longer uploading. */
  refuse(id: string, reason: string, at: string): boolean {
    return this.db.prepare("UPDATE imports SET state = 'refused', refused_reason = ?, closed_at = ? WHERE id = ? AND state = 'uploading'").run(reason, at, id).changes === 1;
  }

  confirmTimeZone(id: string, c: TimeZoneConfirmation): void {
    this.db.prepare('INSERT INTO import_time_zone_confirmations (import_id, interpretation, confirmed_by, confirmed_at) VALUES (?, ?, ?, ?)').run(id, c.interpretation, c.confirmedBy, c.confirmedAt);
  }

  latestConfirmation(id: string): TimeZoneConfirmation | null {
    const row = this.db
      .prepare<[string], { interpretation: TimeZoneInterpretation; confirmed_by: string; confirmed_at: string }>(
        'SELECT interpretation, confirmed_by, confirmed_at FROM import_time_zone_confirmations WHERE import_id = ? ORDER BY id DESC LIMIT 1',
      )
      .get(id);
    return row ? { interpretation: row.interpretation, confirmedBy: row.confirmed_by, confirmedAt: row.confirmed_at } : null;
  }
}
