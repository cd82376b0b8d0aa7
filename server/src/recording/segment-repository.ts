import type { Db } from '../shared/db/database.ts';

export interface RecordedSegment {
  sessionId: string;
  cameraId: string;
  /** 1, 2, … per camera per session, in recording order. */
  seq: number;
  /** Relative to DATA_DIR. */
  file: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  bytes: number;
  sha256: string;
  /** The previous segment's hash of the same camera and session; null for the first. */
  prevSha256: string | null;
  timeSource: 'rtcp' | 'arrival';
  adoptedAt: string;
}

interface SegmentRow {
  session_id: string;
  camera_id: string;
  seq: number;
  file: string;
  started_at: string;
  ended_at: string;
  duration_ms: number;
  bytes: number;
  sha256: string;
  prev_sha256: string | null;
  time_source: 'rtcp' | 'arrival';
  adopted_at: string;
}

/** The evidence index: one append-only row per adopted segment, chained by hash per camera. */
export class SegmentRepository {
  constructor(private readonly db: Db) {}

  /** Appends the next segment of a camera in a session, linking it to the one before. */
  append(segment: Omit<RecordedSegment, 'seq' | 'prevSha256'>): RecordedSegment {
    return this.db.transaction(() => {
      const last = this.db
        .prepare<[string, string], { seq: number; sha256: string }>(
          'SELECT seq, sha256 FROM segments WHERE session_id = ? AND camera_id = ? ORDER BY seq DESC LIMIT 1',
        )
        .get(segment.sessionId, segment.cameraId);
      const row: RecordedSegment = { ...segment, seq: (last?.seq ?? 0) + 1, prevSha256: last?.sha256 ?? null };
      this.db
        .prepare(
          `INSERT INTO segments (session_id, camera_id, seq, file, started_at, ended_at, duration_ms, bytes, sha256, prev_sha256, time_source, adopted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.sessionId, row.cameraId, row.seq, row.file, row.startedAt, row.endedAt, row.durationMs, row.bytes, row.sha256, row.prevSha256, row.timeSource, row.adoptedAt);
      return row;
    })();
  }

  /** The next sequence number a camera's segment would get in a session. */
  nextSeq(sessionId: string, cameraId: string): number {
    const last = this.db
      .prepare<[string, string], { seq: number }>('SELECT MAX(seq) AS seq FROM segments WHERE session_id = ? AND camera_id = ?')
      .get(sessionId, cameraId);
    return (last?.seq ?? 0) + 1;
  }

  list(sessionId: string): RecordedSegment[] {
    return this.db.prepare<[string], SegmentRow>('SELECT * FROM segments WHERE session_id = ? ORDER BY camera_id, seq').all(sessionId).map(toSegment);
  }

  /**
   * One camera's segments of a session, in order, or only those overlapping [fromMs, toMs) (replay:
   * a long session holds thousands per camera). Times are stored as ISO UTC strings, which sort as
   * the instants they name.
   */
  listCamera(sessionId: string, cameraId: string, range?: { fromMs: number; toMs: number }): RecordedSegment[] {
    if (!range) {
      return this.db.prepare<[string, string], SegmentRow>('SELECT * FROM segments WHERE session_id = ? AND camera_id = ? ORDER BY seq').all(sessionId, cameraId).map(toSegment);
    }
    const from = new Date(range.fromMs).toISOString();
    const to = new Date(Math.min(range.toMs, 8.64e15)).toISOString();
    return this.db
      .prepare<[string, string, string, string], SegmentRow>('SELECT * FROM segments WHERE session_id = ? AND camera_id = ? AND ended_at > ? AND started_at < ? ORDER BY seq')
      .all(sessionId, cameraId, from, to)
      .map(toSegment);
  }

  /** Whether a camera recorded anything in a session. */
  hasCamera(sessionId: string, cameraId: string): boolean {
    return this.db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM segments WHERE session_id = ? AND camera_id = ? LIMIT 1').get(sessionId, cameraId) !== undefined;
  }

  /** One segment by its place in the index (the unique key), or null. */
  get(sessionId: string, cameraId: string, seq: number): RecordedSegment | null {
    const row = this.db.prepare<[string, string, number], SegmentRow>('SELECT * FROM segments WHERE session_id = ? AND camera_id = ? AND seq = ?').get(sessionId, cameraId, seq);
    return row ? toSegment(row) : null;
  }

  saveManifest(sessionId: string, file: string, sha256: string, at: string): void {
    this.db.prepare('INSERT INTO session_manifests (session_id, file, sha256, written_at) VALUES (?, ?, ?, ?)').run(sessionId, file, sha256, at);
  }

  /** The sealed manifest, with the fingerprint of the key that signed it (null: sealed before signing existed). */
  manifest(sessionId: string): { file: string; sha256: string; writtenAt: string; keyFingerprint: string | null } | null {
    const row = this.db
      .prepare<[string], { file: string; sha256: string; written_at: string; key_fingerprint: string | null }>(
        'SELECT m.file, m.sha256, m.written_at, s.key_fingerprint FROM session_manifests m LEFT JOIN manifest_signatures s ON s.session_id = m.session_id WHERE m.session_id = ?',
      )
      .get(sessionId);
    return row ? { file: row.file, sha256: row.sha256, writtenAt: row.written_at, keyFingerprint: row.key_fingerprint } : null;
  }

  recordClock(entry: SessionClockEntry): void {
    this.db
      .prepare('INSERT INTO session_clock (session_id, subject, offset_ms, synchronized, source, detail, measured_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(entry.sessionId, entry.subject, entry.offsetMs, entry.synchronized === null ? null : entry.synchronized ? 1 : 0, entry.source, entry.detail, entry.measuredAt);
  }

  clock(sessionId: string): SessionClockEntry[] {
    return this.db
      .prepare<[string], { session_id: string; subject: string; offset_ms: number | null; synchronized: number | null; source: string; detail: string | null; measured_at: string }>(
        'SELECT * FROM session_clock WHERE session_id = ? ORDER BY id',
      )
      .all(sessionId)
      .map((r) => ({
        sessionId: r.session_id,
        subject: r.subject,
        offsetMs: r.offset_ms,
        synchronized: r.synchronized === null ? null : r.synchronized === 1,
        source: r.source,
        detail: r.detail,
        measuredAt: r.measured_at,
      }));
  }
}

/** Clock data kept with a session: the server's sync state and each camera's offset, at start. */
export interface SessionClockEntry {
  sessionId: string;
  subject: string;
  offsetMs: number | null;
  synchronized: boolean | null;
  source: string;
  detail: string | null;
  measuredAt: string;
}

function toSegment(r: SegmentRow): RecordedSegment {
  return {
    sessionId: r.session_id,
    cameraId: r.camera_id,
    seq: r.seq,
    file: r.file,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    bytes: r.bytes,
    sha256: r.sha256,
    prevSha256: r.prev_sha256,
    timeSource: r.time_source,
    adoptedAt: r.adopted_at,
  };
}
