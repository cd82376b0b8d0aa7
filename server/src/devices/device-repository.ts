import type { Db } from '../shared/db/database.ts';
import type { DeviceRecord } from './device.types.ts';

interface DeviceRow {
  id: string;
  name: string;
  officer: string;
  badge_number: string;
  key_hash: string;
  created_at: string;
  disabled: number;
}

const toRecord = (r: DeviceRow): DeviceRecord => ({
  id: r.id,
  name: r.name,
  officer: r.officer,
  badgeNumber: r.badge_number,
  createdAt: r.created_at,
  disabled: r.disabled !== 0,
});

/** The `devices` table (migration 6). */
export class DeviceRepository {
  constructor(private readonly db: Db) {}

  insert(device: DeviceRecord & { keyHash: string }): void {
    this.db
      .prepare('INSERT INTO devices (id, name, officer, badge_number, key_hash, created_at, disabled) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(device.id, device.name, device.officer, device.badgeNumber, device.keyHash, device.createdAt, device.disabled ? 1 : 0);
  }

  list(): DeviceRecord[] {
    return this.db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY created_at, id').all().map(toRecord);
  }

  get(id: string): DeviceRecord | null {
    const row = this.db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?').get(id);
    return row ? toRecord(row) : null;
  }

  /** The key hash of an enabled device, or null (unknown or disabled). */
  activeKeyHash(id: string): string | null {
    return this.db.prepare<[string], { key_hash: string }>('SELECT key_hash FROM devices WHERE id = ? AND disabled = 0').get(id)?.key_hash ?? null;
  }

  /** Records a device as a source of a session (session_devices, written once). */
  attach(sessionId: string, deviceId: string, by: string, at: string): void {
    this.db.prepare('INSERT INTO session_devices (session_id, device_id, attached_by, attached_at) VALUES (?, ?, ?, ?)').run(sessionId, deviceId, by, at);
  }

  /** The devices a session records, in the order they were attached. */
  devicesOf(sessionId: string): string[] {
    return this.db
      .prepare<[string], { device_id: string }>('SELECT device_id FROM session_devices WHERE session_id = ? ORDER BY attached_at, device_id')
      .all(sessionId)
      .map((r) => r.device_id);
  }

  /** A session not yet ended that records this device, if any. */
  openSessionOf(deviceId: string): string | null {
    return (
      this.db
        .prepare<[string], { id: string }>(
          `SELECT s.id FROM session_devices d JOIN sessions s ON s.id = d.session_id
           WHERE d.device_id = ? AND s.state IN ('scheduled', 'recording', 'recess') LIMIT 1`,
        )
        .get(deviceId)?.id ?? null
    );
  }

  disable(id: string): boolean {
    return this.db.prepare('UPDATE devices SET disabled = 1 WHERE id = ? AND disabled = 0').run(id).changes > 0;
  }
}
