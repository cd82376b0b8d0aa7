import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';

/** What a custody entry records. */
export type CustodyAction = 'live_view' | 'export' | 'replay';

export interface CustodyEntry {
  id: number;
  sessionId: string | null;
  roomId: string | null;
  cameraId: string | null;
  username: string;
  action: CustodyAction | string;
  startedAt: string;
  /** null while it lasts, or when the server stopped before it ended. */
  endedAt: string | null;
  detail: Record<string, unknown>;
}

interface CustodyRow {
  id: number;
  session_id: string | null;
  room_id: string | null;
  camera_id: string | null;
  username: string;
  action: string;
  started_at: string;
  ended_at: string | null;
  detail: string;
}

const toEntry = (row: CustodyRow): CustodyEntry => ({
  id: row.id,
  sessionId: row.session_id,
  roomId: row.room_id,
  cameraId: row.camera_id,
  username: row.username,
  action: row.action,
  startedAt: row.started_at,
  endedAt: row.ended_at,
  detail: JSON.parse(row.detail) as Record<string, unknown>,
});

/**
 * The custody log: who viewed or exported what, per session, from when to when. Separate from the
 * audit log (CONTRACTS.md). A row is opened once and closed once; the database refuses any other
 * change and every delete (migration 5).
 */
export class CustodyLog {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Opens an entry now; returns its id. */
  open(entry: { sessionId: string | null; roomId: string | null; cameraId: string | null; username: string; action: CustodyAction; detail?: Record<string, unknown> }): number {
    const result = this.db
      .prepare('INSERT INTO custody_log (session_id, room_id, camera_id, username, action, started_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(entry.sessionId, entry.roomId, entry.cameraId, entry.username, entry.action, this.clock.now().toISOString(), JSON.stringify(entry.detail ?? {}));
    return Number(result.lastInsertRowid);
  }

  /** Closes an open entry now, adding to its detail (e.g. why it ended). A closed entry stays as it is. */
  close(id: number, detail: Record<string, unknown> = {}): void {
    const row = this.db.prepare<[number], CustodyRow>('SELECT * FROM custody_log WHERE id = ?').get(id);
    if (!row || row.ended_at !== null) return;
    const merged = { ...(JSON.parse(row.detail) as Record<string, unknown>), ...detail };
    this.db.prepare('UPDATE custody_log SET ended_at = ?, detail = ? WHERE id = ? AND ended_at IS NULL').run(this.clock.now().toISOString(), JSON.stringify(merged), id);
  }

  /** Entries still open: left by a server that stopped while someone watched. */
  openEntries(action?: CustodyAction): CustodyEntry[] {
    const rows = action
      ? this.db.prepare<[string], CustodyRow>('SELECT * FROM custody_log WHERE ended_at IS NULL AND action = ? ORDER BY id').all(action)
      : this.db.prepare<[], CustodyRow>('SELECT * FROM custody_log WHERE ended_at IS NULL ORDER BY id').all();
    return rows.map(toEntry);
  }

  /** A session's entries, oldest first. */
  forSession(sessionId: string): CustodyEntry[] {
    return this.db.prepare<[string], CustodyRow>('SELECT * FROM custody_log WHERE session_id = ? ORDER BY id').all(sessionId).map(toEntry);
  }
}
