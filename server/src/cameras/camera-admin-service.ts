import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import type { CameraRecord, CameraSource, RoomKind, RoomRepository } from '../rooms/room-repository.ts';
import { badRequest, conflict, notFound } from '../shared/errors.ts';
import type { Db } from '../shared/db/database.ts';
import type { SecretBox } from '../shared/secret-box.ts';
import type { CameraManager, CameraTestResult } from './camera-manager.ts';
import type { CameraRepository } from './camera-repository.ts';
import type { CameraStates } from './camera-state.ts';
import type { CameraView } from './camera-api.types.ts';

export type { CameraView };

/** A camera's source as the admin sends it: the password in clear, or omitted to keep the stored one. */
export type CameraSourceInput =
  | { kind: 'onvif'; url: string; username: string; password?: string }
  | { kind: 'rtsp'; mainUrl: string; subUrl?: string; username?: string; password?: string };

export interface CameraInput {
  name: string;
  roomId: string | null;
  role: string;
  enabled: boolean;
  source: CameraSourceInput;
}

/**
 * The admin's camera and room configuration: validated like the configuration file, stored in the
 * database with passwords sealed, audited (without secrets), and applied to the monitors at once.
 */
export class CameraAdminService {
  constructor(
    private readonly db: Db,
    private readonly cameras: CameraRepository,
    private readonly rooms: RoomRepository,
    private readonly manager: CameraManager,
    private readonly states: CameraStates,
    private readonly secrets: SecretBox,
    private readonly audit: AuditLog,
    private readonly onRoomsChanged: () => void,
  ) {}

  list(): CameraView[] {
    return this.cameras.list().map((c) => this.view(c));
  }

  get(id: string): CameraRecord {
    const camera = this.cameras.get(id);
    if (!camera) throw notFound({ en: `Camera ${id}`, zh: `摄像机 ${id}` });
    return camera;
  }

  create(by: AuditContext, id: string, input: CameraInput): CameraView {
    if (this.cameras.get(id)) {
      throw conflict('camera_exists', { en: `A camera with id "${id}" already exists.`, zh: `编号为“${id}”的摄像机已存在。` });
    }
    this.checkRoom(input.roomId);
    if (input.source.kind === 'onvif' && !input.source.password) {
      throw badRequest('invalid_request', { en: 'An ONVIF camera needs a password.', zh: 'ONVIF 摄像机需要密码。' });
    }
    const camera = this.db.transaction(() => {
      const created = this.cameras.create({ id, ...input, source: this.sealSource(input.source, null) });
      this.audit.record(by, 'camera.created', id, auditDetail(created));
      return created;
    })();
    this.applied();
    return this.view(camera);
  }

  update(by: AuditContext, id: string, input: CameraInput): CameraView {
    const before = this.get(id);
    this.checkRoom(input.roomId);
    const camera = this.db.transaction(() => {
      const updated = this.cameras.update(id, { ...input, source: this.sealSource(input.source, before.source) });
      this.audit.record(by, 'camera.updated', id, {
        before: auditDetail(before),
        after: auditDetail(updated),
        passwordChanged: input.source.password !== undefined,
      });
      return updated;
    })();
    this.applied();
    return this.view(camera);
  }

  remove(by: AuditContext, id: string): void {
    const camera = this.get(id);
    this.db.transaction(() => {
      this.cameras.delete(id);
      this.audit.record(by, 'camera.removed', id, auditDetail(camera));
    })();
    this.applied();
  }

  async test(by: AuditContext, id: string): Promise<CameraView & { media: CameraTestResult['media'] }> {
    const camera = this.get(id);
    const result = await this.manager.test(camera);
    this.audit.record(by, 'camera.tested', id, { state: result.state, reason: result.reason, media: result.media });
    return { ...this.view(camera), state: result.state, reason: result.reason, media: result.media };
  }

  createRoom(by: AuditContext, room: { id: string; name: string; kind: RoomKind }): void {
    if (this.rooms.exists(room.id)) {
      throw conflict('room_exists', { en: `A room with id "${room.id}" already exists.`, zh: `编号为“${room.id}”的房间已存在。` });
    }
    this.db.transaction(() => {
      this.rooms.create(room);
      this.audit.record(by, 'room.created', room.id, room);
    })();
    this.onRoomsChanged();
  }

  updateRoom(by: AuditContext, id: string, change: { name?: string; kind?: RoomKind }): void {
    this.checkRoom(id);
    this.db.transaction(() => {
      this.rooms.update(id, change);
      this.audit.record(by, 'room.updated', id, change);
    })();
    this.onRoomsChanged();
  }

  removeRoom(by: AuditContext, id: string): void {
    this.checkRoom(id);
    const placed = this.cameras.list().filter((c) => c.roomId === id).map((c) => c.id);
    if (placed.length > 0) {
      throw conflict('room_not_empty', {
        en: `Move or remove its cameras first: ${placed.join(', ')}.`,
        zh: `请先移走或删除该房间的摄像机：${placed.join('、')}。`,
      });
    }
    this.db.transaction(() => {
      this.rooms.delete(id);
      this.audit.record(by, 'room.removed', id);
    })();
    this.onRoomsChanged();
  }

  private applied(): void {
    this.manager.sync();
    this.onRoomsChanged();
  }

  private checkRoom(roomId: string | null): void {
    if (roomId !== null && !this.rooms.exists(roomId)) {
      throw badRequest('unknown_room', { en: `No room with id ${roomId}.`, zh: `没有编号为 ${roomId} 的房间。` });
    }
  }

  /** A new password is sealed; an omitted one keeps what was stored (env: reference, sealed or demo literal). */
  private sealSource(input: CameraSourceInput, before: CameraSource | null): CameraSource {
    const password = input.password !== undefined ? this.secrets.seal(input.password) : before?.password;
    if (input.kind === 'onvif') return { kind: 'onvif', url: input.url, username: input.username, password: password ?? '' };
    return {
      kind: 'rtsp',
      mainUrl: input.mainUrl,
      ...(input.subUrl ? { subUrl: input.subUrl } : {}),
      ...(input.username ? { username: input.username } : {}),
      ...(input.username && password ? { password } : {}),
    };
  }

  view(camera: CameraRecord): CameraView {
    const state = this.states.get(camera.id);
    const probe = this.manager.probe(camera.id);
    const s = camera.source;
    return {
      id: camera.id,
      name: camera.name,
      roomId: camera.roomId,
      role: camera.role,
      enabled: camera.enabled,
      source:
        s.kind === 'onvif'
          ? { kind: 'onvif', url: s.url, username: s.username, hasPassword: Boolean(s.password) }
          : { kind: 'rtsp', mainUrl: s.mainUrl, subUrl: s.subUrl ?? null, username: s.username ?? null, hasPassword: Boolean(s.password) },
      state: state.state,
      reason: state.reason,
      probe: probe && {
        at: probe.at,
        device: probe.device && { manufacturer: probe.device.manufacturer, model: probe.device.model, firmwareVersion: probe.device.firmwareVersion },
        video: probe.video,
        audio: probe.audio,
        clockOffsetMs: probe.clockOffsetMs,
        liveCodecWarning: probe.liveCodecWarning,
        hasSubStream: probe.subUrl !== null,
        hasSnapshot: probe.snapshotUrl !== null,
      },
    };
  }
}

/** What the audit log keeps of a camera: where it is and how it is reached, never its password. */
function auditDetail(camera: CameraRecord): Record<string, unknown> {
  const { password: _password, ...source } = camera.source;
  return { name: camera.name, roomId: camera.roomId, role: camera.role, enabled: camera.enabled, source };
}
