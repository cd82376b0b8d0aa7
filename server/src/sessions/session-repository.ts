import type { Db } from '../shared/db/database.ts';
import type {
  CorrectionRecord,
  Interruption,
  MarkRecord,
  ParticipantInput,
  ParticipantRole,
  SessionRecord,
  SessionState,
  StateChange,
} from './session.types.ts';
import type { CorrectionKind } from './stages.ts';

interface SessionRow {
  id: string;
  case_id: string;
  title: string;
  procedure: string;
  room_id: string | null;
  state: SessionState;
  created_by: string;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  sealed_at: string | null;
  sealed_by: string | null;
}

interface MarkRow {
  id: string;
  seq: number;
  session_id: string;
  client_id: string;
  item: number | null;
  note: string | null;
  client_time: string;
  clock_offset_ms: number | null;
  server_time: string;
  effective_at: string;
  delayed: number;
  created_by: string;
}

interface CorrectionRow {
  id: string;
  seq: number;
  session_id: string;
  mark_id: string;
  kind: CorrectionKind;
  at: string | null;
  item: number | null;
  reason: string;
  created_by: string;
  created_at: string;
}

interface InterruptionRow {
  id: number;
  session_id: string;
  camera_id: string | null;
  started_at: string;
  ended_at: string | null;
  cause: string;
  explanation: string | null;
  explained_by: string | null;
  explained_at: string | null;
}

/** A participant as stored, identity number in full: only the service decides who sees it. */
export interface StoredParticipant {
  name: string;
  role: ParticipantRole;
  idNumber: string | null;
  badgeNumber: string | null;
}

const toSession = (r: SessionRow): SessionRecord => ({
  id: r.id,
  caseId: r.case_id,
  title: r.title,
  procedure: r.procedure,
  roomId: r.room_id,
  state: r.state,
  createdBy: r.created_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  sealedAt: r.sealed_at,
  sealedBy: r.sealed_by,
});

const toMark = (r: MarkRow): MarkRecord => ({
  id: r.id,
  seq: r.seq,
  sessionId: r.session_id,
  clientId: r.client_id,
  item: r.item,
  note: r.note,
  clientTime: r.client_time,
  clockOffsetMs: r.clock_offset_ms,
  serverTime: r.server_time,
  effectiveAt: r.effective_at,
  delayed: r.delayed === 1,
  createdBy: r.created_by,
});

const toCorrection = (r: CorrectionRow): CorrectionRecord => ({
  id: r.id,
  seq: r.seq,
  sessionId: r.session_id,
  markId: r.mark_id,
  kind: r.kind,
  at: r.at,
  item: r.item,
  reason: r.reason,
  createdBy: r.created_by,
  createdAt: r.created_at,
});

const toInterruption = (r: InterruptionRow): Interruption => ({
  id: r.id,
  sessionId: r.session_id,
  cameraId: r.camera_id,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  cause: r.cause,
  explanation: r.explanation,
  explainedBy: r.explained_by,
  explainedAt: r.explained_at,
});

/** Sessions and everything recorded with them, as stored. No rules here: see SessionService. */
export class SessionRepository {
  constructor(readonly db: Db) {}

  insert(session: SessionRecord, participants: readonly ParticipantInput[]): void {
    this.db
      .prepare(
        `INSERT INTO sessions (id, case_id, title, procedure, room_id, state, created_by, created_at)
         VALUES (@id, @caseId, @title, @procedure, @roomId, @state, @createdBy, @createdAt)`,
      )
      .run({ id: session.id, caseId: session.caseId, title: session.title, procedure: session.procedure, roomId: session.roomId, state: session.state, createdBy: session.createdBy, createdAt: session.createdAt });
    const insert = this.db.prepare(
      'INSERT INTO participants (session_id, seq, name, role, id_number, badge_number) VALUES (?, ?, ?, ?, ?, ?)',
    );
    participants.forEach((p, seq) => insert.run(session.id, seq, p.name, p.role, p.idNumber ?? null, p.badgeNumber ?? null));
  }

  get(id: string): SessionRecord | undefined {
    const row = this.db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id = ?').get(id);
    return row && toSession(row);
  }

  listByCase(caseId: string): SessionRecord[] {
    return this.db
      .prepare<[string], SessionRow>('SELECT * FROM sessions WHERE case_id = ? ORDER BY created_at, id')
      .all(caseId)
      .map(toSession);
  }

  list(filter: SessionFilter): SessionRecord[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.state) {
      where.push('s.state = ?');
      args.push(filter.state);
    }
    if (filter.roomId) {
      where.push('s.room_id = ?');
      args.push(filter.roomId);
    }
    if (filter.procedure) {
      where.push('s.procedure = ?');
      args.push(filter.procedure);
    }
    if (filter.caseNumber) {
      where.push("c.case_number LIKE ? ESCAPE '\\'");
      args.push(`%${likeEscape(filter.caseNumber.trim())}%`);
    }
    if (filter.party) {
      // A party of the case, or a participant of the session as party or agent.
      where.push(
        "(c.parties_json LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM participants p WHERE p.session_id = s.id AND p.role IN ('party', 'agent') AND p.name LIKE ? ESCAPE '\\'))",
      );
      const like = `%${likeEscape(filter.party.trim())}%`;
      args.push(like, like);
    }
    // Dates are calendar days in Asia/Shanghai, on when the session started (or was created, if it never did).
    if (filter.from) {
      where.push('COALESCE(s.started_at, s.created_at) >= ?');
      args.push(shanghaiDayStart(filter.from, 0));
    }
    if (filter.to) {
      where.push('COALESCE(s.started_at, s.created_at) < ?');
      args.push(shanghaiDayStart(filter.to, 1));
    }
    return this.db
      .prepare<string[], SessionRow>(
        `SELECT s.* FROM sessions s JOIN cases c ON c.id = s.case_id ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.created_at DESC, s.id LIMIT 500`,
      )
      .all(...args)
      .map(toSession);
  }

  /** The session recording or in recess in a room, if any. */
  activeInRoom(roomId: string): SessionRecord | undefined {
    const row = this.db
      .prepare<[string], SessionRow>("SELECT * FROM sessions WHERE room_id = ? AND state IN ('recording', 'recess')")
      .get(roomId);
    return row && toSession(row);
  }

  /** Moves the session to a new state and keeps the change in its history. */
  changeState(session: SessionRecord, change: StateChange): void {
    this.db
      .prepare('UPDATE sessions SET state = ?, started_at = ?, ended_at = ?, sealed_at = ?, sealed_by = ? WHERE id = ?')
      .run(change.to, session.startedAt, session.endedAt, session.sealedAt, session.sealedBy, session.id);
    this.db
      .prepare('INSERT INTO session_state_changes (session_id, from_state, to_state, at, actor, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(session.id, change.from, change.to, change.at, change.actor, change.reason);
  }

  history(sessionId: string): StateChange[] {
    return this.db
      .prepare<[string], { from_state: SessionState | null; to_state: SessionState; at: string; actor: string; reason: string | null }>(
        'SELECT from_state, to_state, at, actor, reason FROM session_state_changes WHERE session_id = ? ORDER BY id',
      )
      .all(sessionId)
      .map((r) => ({ from: r.from_state, to: r.to_state, at: r.at, actor: r.actor, reason: r.reason }));
  }

  participants(sessionId: string): StoredParticipant[] {
    return this.db
      .prepare<[string], { name: string; role: ParticipantRole; id_number: string | null; badge_number: string | null }>(
        'SELECT name, role, id_number, badge_number FROM participants WHERE session_id = ? ORDER BY seq',
      )
      .all(sessionId)
      .map((r) => ({ name: r.name, role: r.role, idNumber: r.id_number, badgeNumber: r.badge_number }));
  }

  markByClientId(clientId: string): MarkRecord | undefined {
    const row = this.db.prepare<[string], MarkRow>('SELECT * FROM marks WHERE client_id = ?').get(clientId);
    return row && toMark(row);
  }

  mark(sessionId: string, markId: string): MarkRecord | undefined {
    const row = this.db.prepare<[string, string], MarkRow>('SELECT * FROM marks WHERE session_id = ? AND id = ?').get(sessionId, markId);
    return row && toMark(row);
  }

  insertMark(mark: Omit<MarkRecord, 'seq'>): MarkRecord {
    const seq = this.nextSeq('marks', mark.sessionId);
    this.db
      .prepare(
        `INSERT INTO marks (id, seq, session_id, client_id, item, note, client_time, clock_offset_ms, server_time, effective_at, delayed, created_by)
         VALUES (@id, @seq, @sessionId, @clientId, @item, @note, @clientTime, @clockOffsetMs, @serverTime, @effectiveAt, @delayed, @createdBy)`,
      )
      .run({ ...mark, seq, delayed: mark.delayed ? 1 : 0 });
    return { ...mark, seq };
  }

  marks(sessionId: string): MarkRecord[] {
    return this.db.prepare<[string], MarkRow>('SELECT * FROM marks WHERE session_id = ? ORDER BY seq').all(sessionId).map(toMark);
  }

  insertCorrection(correction: Omit<CorrectionRecord, 'seq'>): CorrectionRecord {
    const seq = this.nextSeq('mark_corrections', correction.sessionId);
    this.db
      .prepare(
        `INSERT INTO mark_corrections (id, seq, session_id, mark_id, kind, at, item, reason, created_by, created_at)
         VALUES (@id, @seq, @sessionId, @markId, @kind, @at, @item, @reason, @createdBy, @createdAt)`,
      )
      .run({ ...correction, seq });
    return { ...correction, seq };
  }

  corrections(sessionId: string): CorrectionRecord[] {
    return this.db
      .prepare<[string], CorrectionRow>('SELECT * FROM mark_corrections WHERE session_id = ? ORDER BY seq')
      .all(sessionId)
      .map(toCorrection);
  }

  /** Registers a gap; recording calls this for a camera, the session service for a recess. */
  insertInterruption(i: Omit<Interruption, 'id'>): Interruption {
    const result = this.db
      .prepare(
        `INSERT INTO interruptions (session_id, camera_id, started_at, ended_at, cause, explanation, explained_by, explained_at)
         VALUES (@sessionId, @cameraId, @startedAt, @endedAt, @cause, @explanation, @explainedBy, @explainedAt)`,
      )
      .run(i);
    return { ...i, id: Number(result.lastInsertRowid) };
  }

  /** Ends the open interruptions of a session (of one camera, or the session-wide ones when null). */
  endOpenInterruptions(sessionId: string, at: string, filter: { cameraId?: string | null; cause?: string } = {}): void {
    const where = ['session_id = @sessionId', 'ended_at IS NULL'];
    if (filter.cameraId !== undefined) where.push(filter.cameraId === null ? 'camera_id IS NULL' : 'camera_id = @cameraId');
    if (filter.cause !== undefined) where.push('cause = @cause');
    this.db
      .prepare(`UPDATE interruptions SET ended_at = @at WHERE ${where.join(' AND ')}`)
      .run({ sessionId, at, cameraId: filter.cameraId ?? null, cause: filter.cause ?? null });
  }

  explainInterruption(id: number, text: string, by: string, at: string): void {
    this.db.prepare('UPDATE interruptions SET explanation = ?, explained_by = ?, explained_at = ? WHERE id = ?').run(text, by, at, id);
  }

  interruption(sessionId: string, id: number): Interruption | undefined {
    const row = this.db
      .prepare<[string, number], InterruptionRow>('SELECT * FROM interruptions WHERE session_id = ? AND id = ?')
      .get(sessionId, id);
    return row && toInterruption(row);
  }

  interruptions(sessionId: string): Interruption[] {
    return this.db
      .prepare<[string], InterruptionRow>('SELECT * FROM interruptions WHERE session_id = ? ORDER BY started_at, id')
      .all(sessionId)
      .map(toInterruption);
  }

  private nextSeq(table: 'marks' | 'mark_corrections', sessionId: string): number {
    return this.db.prepare<[string], { n: number }>(`SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM ${table} WHERE session_id = ?`).get(sessionId)!.n;
  }
}

/** What `GET /api/sessions` filters on; every field optional. */
export interface SessionFilter {
  state?: SessionState | undefined;
  roomId?: string | undefined;
  procedure?: string | undefined;
  /** Part of the case number. */
  caseNumber?: string | undefined;
  /** Part of a party's name (the case's parties, the session's parties and agents). */
  party?: string | undefined;
  /** Calendar dates `YYYY-MM-DD` in Asia/Shanghai, both included. */
  from?: string | undefined;
  to?: string | undefined;
}

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The UTC instant (ISO, ms) at which a Shanghai calendar day (plus `days`) begins. */
function shanghaiDayStart(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00.000+08:00`) + days * 86_400_000;
  return new Date(ms).toISOString();
}
