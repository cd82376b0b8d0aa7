import type { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';
import type { Logger } from '../shared/logger.ts';
import { cameraFromRow, type CameraRow } from '../cameras/camera-repository.ts';
import type { CameraRecord, CameraSource, RoomKind } from '../cameras/camera.types.ts';

export type { CameraRecord, CameraSource, RoomKind };


export interface RoomRecord {
  id: string;
  name: string;
  kind: RoomKind;
  cameras: CameraRecord[];
}

/** Rooms and their cameras, as stored. The database is the source of truth once seeded. */
export class RoomRepository {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  list(): RoomRecord[] {
    const rooms = this.db
      .prepare<[], { id: string; name: string; kind: RoomKind }>('SELECT id, name, kind FROM rooms ORDER BY sort_order, id')
      .all();
    const cameras = this.db
      .prepare<[], CameraRow>('SELECT * FROM cameras WHERE room_id IS NOT NULL ORDER BY sort_order, id')
      .all()
      .map(cameraFromRow);
    return rooms.map((room) => ({ ...room, cameras: cameras.filter((c) => c.roomId === room.id) }));
  }

  create(room: { id: string; name: string; kind: RoomKind }): void {
    const now = this.clock.now().toISOString();
    const order = this.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM rooms').get()!.n;
    this.db
      .prepare('INSERT INTO rooms (id, name, kind, sort_order, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(room.id, room.name, room.kind, order, now, now);
  }

  update(id: string, change: { name?: string; kind?: RoomKind }): void {
    const now = this.clock.now().toISOString();
    if (change.name !== undefined) this.db.prepare('UPDATE rooms SET name = ?, updated_at = ? WHERE id = ?').run(change.name, now, id);
    if (change.kind !== undefined) this.db.prepare('UPDATE rooms SET kind = ?, updated_at = ? WHERE id = ?').run(change.kind, now, id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM rooms WHERE id = ?').run(id);
  }

  exists(roomId: string): boolean {
    return this.db.prepare('SELECT 1 FROM rooms WHERE id = ?').get(roomId) !== undefined;
  }

  /**
   * Adds the rooms and cameras of the configuration file that were never seeded before. An entry
   * seeded once and since removed or edited in the admin UI is left as the database has it.
   */
  seedFromConfig(config: Config, audit: AuditLog, log: Logger): void {
    const now = this.clock.now().toISOString();
    const seeded = new Set(
      this.db.prepare<[], { key: string }>("SELECT kind || ':' || id AS key FROM config_seeded").all().map((r) => r.key),
    );
    const markSeeded = this.db.prepare('INSERT INTO config_seeded (kind, id, seeded_at) VALUES (?, ?, ?)');
    const placement = new Map<string, { roomId: string; role: string; order: number }>();
    for (const room of config.rooms) {
      room.cameras.forEach((c, order) => placement.set(c.camera, { roomId: room.id, role: c.role, order }));
    }
    this.db.transaction(() => {
      config.rooms.forEach((room, order) => {
        if (seeded.has(`room:${room.id}`)) return;
        this.db
          .prepare('INSERT OR IGNORE INTO rooms (id, name, kind, sort_order, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(room.id, room.name, room.kind, order, now, now);
        markSeeded.run('room', room.id, now);
        audit.record({ actor: null }, 'room.seeded', room.id, { name: room.name, kind: room.kind });
      });
      for (const camera of config.cameras) {
        if (seeded.has(`camera:${camera.id}`)) continue;
        const place = placement.get(camera.id);
        const source: CameraSource = camera.onvif
          ? { kind: 'onvif', ...camera.onvif }
          : { kind: 'rtsp', ...camera.rtsp! };
        const roomId = place && this.exists(place.roomId) ? place.roomId : null;
        this.db
          .prepare(
            `INSERT OR IGNORE INTO cameras (id, name, room_id, role, sort_order, enabled, source_json, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(camera.id, camera.name, roomId, place?.role ?? '', place?.order ?? 0, camera.enabled ? 1 : 0, JSON.stringify(source), now, now);
        markSeeded.run('camera', camera.id, now);
        audit.record({ actor: null }, 'camera.seeded', camera.id, { name: camera.name, room: roomId, kind: source.kind });
      }
    })();
    log.debug('configuration seeded');
  }
}
