import type { Db } from '../shared/db/database.ts';
import type { CaseEvent, CaseEventKind, CaseRecord, CaseSummary } from './case.types.ts';

interface CaseRow {
  id: string;
  case_number: string;
  title: string;
  parties_json: string;
  created_by: string;
  created_at: string;
}

const toCase = (r: CaseRow): CaseRecord => ({
  id: r.id,
  caseNumber: r.case_number,
  title: r.title,
  parties: JSON.parse(r.parties_json) as string[],
  createdBy: r.created_by,
  createdAt: r.created_at,
});

/** Cases and their dated events, as stored. */
export class CaseRepository {
  constructor(private readonly db: Db) {}

  insert(c: CaseRecord): void {
    this.db
      .prepare('INSERT INTO cases (id, case_number, title, parties_json, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(c.id, c.caseNumber, c.title, JSON.stringify(c.parties), c.createdBy, c.createdAt);
  }

  get(id: string): CaseRecord | undefined {
    const row = this.db.prepare<[string], CaseRow>('SELECT * FROM cases WHERE id = ?').get(id);
    return row && toCase(row);
  }

  byNumber(caseNumber: string): CaseRecord | undefined {
    const row = this.db.prepare<[string], CaseRow>('SELECT * FROM cases WHERE case_number = ?').get(caseNumber);
    return row && toCase(row);
  }

  /** Newest first; `query` matches part of the case number, the title or a party's name. */
  search(query: string, limit: number, offset: number): { cases: CaseSummary[]; total: number } {
    const like = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const where = query
      ? `WHERE case_number LIKE @like ESCAPE '\\' OR title LIKE @like ESCAPE '\\'
           OR EXISTS (SELECT 1 FROM json_each(cases.parties_json) WHERE json_each.value LIKE @like ESCAPE '\\')`
      : '';
    const total = this.db.prepare<{ like: string }, { n: number }>(`SELECT COUNT(*) AS n FROM cases ${where}`).get({ like })!.n;
    const rows = this.db
      .prepare<{ like: string; limit: number; offset: number }, CaseRow & { session_count: number }>(
        `SELECT cases.*, (SELECT COUNT(*) FROM sessions WHERE sessions.case_id = cases.id) AS session_count
         FROM cases ${where} ORDER BY created_at DESC, id LIMIT @limit OFFSET @offset`,
      )
      .all({ like, limit, offset });
    return { cases: rows.map((r) => ({ ...toCase(r), sessionCount: r.session_count })), total };
  }

  events(caseId: string): CaseEvent[] {
    return this.db
      .prepare<[string], { id: number; kind: CaseEventKind; at: string; note: string | null; created_by: string; created_at: string }>(
        'SELECT id, kind, at, note, created_by, created_at FROM case_events WHERE case_id = ? ORDER BY at, id',
      )
      .all(caseId)
      .map((r) => ({ id: r.id, kind: r.kind, at: r.at, note: r.note, createdBy: r.created_by, createdAt: r.created_at }));
  }

  insertEvent(caseId: string, event: Omit<CaseEvent, 'id'>): number {
    const result = this.db
      .prepare('INSERT INTO case_events (case_id, kind, at, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(caseId, event.kind, event.at, event.note, event.createdBy, event.createdAt);
    return Number(result.lastInsertRowid);
  }
}
