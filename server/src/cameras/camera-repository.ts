import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';
import type { CameraRecord } from './camera.types.ts';

export interface CameraRow {
  id: string;
  name: string;
  room_id: string | null;
  role: string;
  enabled: number;
  source_json: string;
}

export interface CameraInput {
  id: string;
  name: string;
  roomId: string | null;
  role: string;
  enabled: boolean;
  source: CameraRecord['source'];
}

/** Camera rows. Passwords in `source` are env: references, sealed (enc:v1:) or, in demo, literal. */
export class CameraRepository {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  list(): CameraRecord[] {
    return this.db.prepare<[], CameraRow>('SELECT * FROM cameras ORDER BY room_id IS NULL, room_id, sort_order, id').all().map(cameraFromRow);
  }

  get(id: string): CameraRecord | null {
    const row = this.db.prepare<[string], CameraRow>('SELECT * FROM cameras WHERE id = ?').get(id);
    return row ? cameraFromRow(row) : null;
  }

  create(input: CameraInput): CameraRecord {
    const now = this.clock.now().toISOString();
    const order = this.db.prepare<[string | null], { n: number }>('SELECT COUNT(*) AS n FROM cameras WHERE room_id IS ?').get(input.roomId)!.n;
    this.db
      .prepare(
        `INSERT INTO cameras (id, name, room_id, role, sort_order, enabled, source_json, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(input.id, input.name, input.roomId, input.role, order, input.enabled ? 1 : 0, JSON.stringify(input.source), now, now);
    return this.get(input.id)!;
  }

  update(id: string, input: Omit<CameraInput, 'id'>): CameraRecord {
    this.db
      .prepare('UPDATE cameras SET name = ?, room_id = ?, role = ?, enabled = ?, source_json = ?, updated_at = ? WHERE id = ?')
      .run(input.name, input.roomId, input.role, input.enabled ? 1 : 0, JSON.stringify(input.source), this.clock.now().toISOString(), id);
    return this.get(id)!;
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM cameras WHERE id = ?').run(id);
  }
}

export function cameraFromRow(row: CameraRow): CameraRecord {
  return {
    id: row.id,
    name: row.name,
    roomId: row.room_id,
    role: row.role,
    enabled: row.enabled === 1,
    source: JSON.parse(row.source_json) as CameraRecord['source'],
  };
}
