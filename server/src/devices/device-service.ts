import { randomBytes } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import type { SpoolSegment } from '../ingest/camera-ingest.types.ts';
import { DEVICE_APP, hashKey, newKey } from '../live/publish-guard.ts';
import type { MediaServer, PublishAttempt, PublishInfo } from '../live/media-server.ts';
import { ApiError, conflict, forbidden, notFound } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { canReadSession, canRunSession } from '../sessions/session-access.ts';
import type { Caller } from '../sessions/session-service.ts';
import type { SessionRecord } from '../sessions/session.types.ts';
import { DeviceIngest, type DeviceTimeline } from './device-ingest.ts';
import type { DeviceRepository } from './device-repository.ts';
import type { AttachableDevice, DeviceInput, DeviceRecord, DeviceRegistered, DeviceView } from './device.types.ts';

const DRAIN_MS = 1500;

export interface DeviceServiceOptions {
  /** The spool root the cameras' ingests write to. */
  spoolDir: string;
  segmentSeconds: number;
  /** Each closed, hashed segment of a publishing device (wired to the recording). */
  onSegment: (segment: SpoolSegment) => void;
  /** A device stopped publishing; its last segment ended at `lastEndedAt` (wired to the recording). */
  onGap: (deviceId: string, lastEndedAt: string) => void;
  /** Sessions, to attach a device to one. */
  sessions: { get(id: string): SessionRecord | undefined };
  /** A device was attached to a session (the recording takes it up if the session records). */
  onAttach: (sessionId: string, deviceId: string) => Promise<void>;
  log: Logger;
  clock: Clock;
}

/**
 * Portable devices (执法记录仪): the admin registers one and gets its push URL with a key shown once
 * (only the key's SHA-256 is stored); while a registered device publishes, a DeviceIngest records it
 * into the spool like a camera. Registration, disabling and every refused publish are audited.
 */
export class DeviceService {
  private media: MediaServer | null = null;
  /** Devices publishing now. */
  private readonly publishing = new Map<string, { info: PublishInfo; timeline: DeviceTimeline }>();
  /** The reader recording each publishing device (none while the disk is below its floor). */
  private readonly ingests = new Map<string, DeviceIngest>();
  /** Each device's last reader until it has stopped: the next one waits for it (same spool folder). */
  private readonly stopping = new Map<string, Promise<void>>();
  private diskFull = false;
  /** End of each device's last segment, for the gap when its push ends. */
  private readonly lastEndedAt = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly repo: DeviceRepository,
    private readonly audit: AuditLog,
    private readonly o: DeviceServiceOptions,
  ) {}

  /** Follows the media server's publish events (after it started). */
  attach(media: MediaServer): void {
    this.media = media;
    media.on('publishRefused', (attempt) => this.onRefused(attempt));
    media.on('published', (info) => this.onPublished(info));
    media.on('unpublished', (info) => void this.onUnpublished(info));
  }

  register(by: AuditContext, input: DeviceInput): DeviceRegistered {
    if (!this.media?.running) {
      throw new ApiError(503, 'media_server_unavailable', {
        en: 'The RTMP server is not running, so a device could not push: check mediaServer in the configuration and the server log.',
        zh: 'RTMP 服务未运行，设备无法推流。请检查配置中的 mediaServer 及服务器日志。',
      });
    }
    const id = `dev-${randomBytes(5).toString('hex')}`;
    const key = newKey();
    const record: DeviceRecord = { id, ...input, createdAt: this.o.clock.now().toISOString(), disabled: false };
    this.repo.insert({ ...record, keyHash: hashKey(key).toString('hex') });
    this.audit.record(by, 'device.registered', id, { name: input.name, officer: input.officer, badgeNumber: input.badgeNumber });
    return { id, pushUrl: this.media.pushUrl(DEVICE_APP, id, { key }) };
  }

  list(): DeviceView[] {
    return this.repo.list().map((d) => ({ ...d, live: this.ingests.has(d.id) }));
  }

  /** Enabled devices a clerk may pick for a session; only what he needs to recognise one. */
  attachable(): AttachableDevice[] {
    return this.repo
      .list()
      .filter((d) => !d.disabled)
      .map((d) => ({ id: d.id, name: d.name, officer: d.officer, badgeNumber: d.badgeNumber, live: this.isLive(d.id), inSession: this.repo.openSessionOf(d.id) }));
  }

  get(id: string): DeviceRecord {
    const device = this.repo.get(id);
    if (!device) throw notFound({ en: `Device ${id}`, zh: `设备 ${id}` });
    return device;
  }

  /** Disables a device: its key stops working at once and a connected push is cut. */
  disable(by: AuditContext, id: string): DeviceRecord {
    const device = this.get(id);
    if (this.repo.disable(id)) {
      const cut = this.media?.disconnectPublisher(DEVICE_APP, id) ?? false;
      this.audit.record(by, 'device.disabled', id, { name: device.name, wasLive: cut });
    }
    return this.get(id);
  }

  /**
   * Records a device into a session (its clerk): room-less (便携设备) or beside the room's cameras.
   * While the session records, the device's segments are adopted, hashed and chained like a
   * camera's; while it does not publish, that is an interruption to explain.
   */
  async attachToSession(caller: Caller, sessionId: string, deviceId: string): Promise<{ sessionId: string; deviceId: string; live: boolean }> {
    const session = this.o.sessions.get(sessionId);
    if (!session || !canReadSession(caller.user, session)) throw notFound({ en: `Session ${sessionId}`, zh: `记录 ${sessionId}` });
    if (!canRunSession(caller.user, session)) throw forbidden({ en: 'Only the clerk running this session may add a device to it.', zh: '只有负责此记录的书记员可以添加设备。' });
    if (!['scheduled', 'recording', 'recess'].includes(session.state)) {
      throw conflict('invalid_state', { en: `The session is ${session.state}: a device can no longer be added.`, zh: '此记录已结束，不能再添加设备。' });
    }
    const device = this.get(deviceId);
    const result = { sessionId, deviceId, live: this.isLive(deviceId) };
    if (this.repo.devicesOf(sessionId).includes(deviceId)) return result;
    if (device.disabled) throw conflict('device_disabled', { en: `Device ${deviceId} is disabled.`, zh: `设备 ${deviceId} 已停用。` });
    const other = this.repo.openSessionOf(deviceId);
    if (other) {
      throw conflict('device_in_use', { en: `Device ${deviceId} is already recorded into session ${other}: end that session first.`, zh: `设备 ${deviceId} 正在记录另一场记录（${other}），请先结束该记录。` });
    }
    this.repo.attach(sessionId, deviceId, caller.user.username, this.o.clock.now().toISOString());
    this.audit.record({ actor: caller.user.username, ip: caller.ip }, 'session.device_attached', sessionId, { deviceId, name: device.name, officer: device.officer, badgeNumber: device.badgeNumber });
    await this.o.onAttach(sessionId, deviceId);
    return result;
  }

  /** The devices a session records (whoever may read the session). */
  devicesOfSession(caller: Caller, sessionId: string): DeviceView[] {
    const session = this.o.sessions.get(sessionId);
    if (!session || !canReadSession(caller.user, session)) throw notFound({ en: `Session ${sessionId}`, zh: `记录 ${sessionId}` });
    return this.repo.devicesOf(sessionId).map((id) => ({ ...this.get(id), live: this.isLive(id) }));
  }

  /** The open session (scheduled, recording or in recess) that records a device, if any. */
  openSessionOf(deviceId: string): string | null {
    return this.repo.openSessionOf(deviceId);
  }

  /** Which devices a session records (the recording's PortableSources). */
  devicesOf(sessionId: string): string[] {
    return this.repo.devicesOf(sessionId);
  }

  /** Whether a device is publishing now. */
  isLive(id: string): boolean {
    return this.publishing.has(id);
  }

  /** Whether a device's push is being recorded now (it publishes and the disk is above its floor). */
  isRecording(id: string): boolean {
    return this.ingests.has(id);
  }

  /**
   * Below the disk floor nothing is written: the devices' readers stop (the recording notes the
   * gap, `disk_full`) and start again for the devices still publishing when space comes back.
   */
  setDiskFull(full: boolean): void {
    if (full === this.diskFull || this.closed) return;
    this.diskFull = full;
    if (full) {
      for (const deviceId of [...this.ingests.keys()]) void this.stopIngest(deviceId, 0);
    } else {
      for (const [deviceId, { timeline }] of this.publishing) this.startIngest(deviceId, timeline);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.ingests.keys()].map((deviceId) => this.stopIngest(deviceId, 0)));
    await Promise.allSettled([...this.stopping.values()]);
  }

  private onRefused(attempt: PublishAttempt & { reason: string }): void {
    const ip = attempt.ip.replace(/:\d+$/, '');
    this.audit.record({ actor: null, ip }, 'device.publish_refused', `${attempt.app}/${attempt.name}`, {
      app: attempt.app, name: attempt.name, protocol: attempt.protocol, reason: attempt.reason,
    });
  }

  private onPublished(info: PublishInfo): void {
    if (info.app !== DEVICE_APP || this.closed || !this.media) return;
    const timeline: DeviceTimeline = { publishedAtMs: this.o.clock.now().getTime(), firstMediaS: null };
    this.publishing.set(info.name, { info, timeline });
    this.audit.record({ actor: null, ip: info.ip.replace(/:\d+$/, '') }, 'device.publish_started', info.name, {});
    if (this.diskFull) {
      this.o.log.error({ device: info.name }, 'a device publishes while the disk is below its floor: not recorded until space is freed');
      return;
    }
    this.startIngest(info.name, timeline);
  }

  private startIngest(deviceId: string, timeline: DeviceTimeline): void {
    if (this.ingests.has(deviceId) || this.closed || !this.media) return;
    const ingest = new DeviceIngest({
      deviceId,
      sourceUrl: this.media.rtmpUrl(DEVICE_APP, deviceId),
      spoolDir: this.o.spoolDir,
      segmentSeconds: this.o.segmentSeconds,
      timeline,
      log: this.o.log,
    });
    ingest.on('segment', (segment) => {
      this.o.log.info({ device: segment.cameraId, seq: segment.seq, file: segment.file, bytes: segment.bytes, sha256: segment.sha256, startedAt: segment.startedAt, endedAt: segment.endedAt }, 'device segment');
      this.lastEndedAt.set(segment.cameraId, segment.endedAt);
      this.o.onSegment(segment);
    });
    // The reader stopped while the device publishes (no data for 5 s, an error): what it missed is a gap.
    ingest.on('died', () => {
      if (this.ingests.get(deviceId) === ingest) this.o.onGap(deviceId, this.lastEndedAt.get(deviceId) ?? this.o.clock.now().toISOString());
    });
    this.ingests.set(deviceId, ingest);
    // A reader still stopping writes into the same folder: this one starts after it.
    const previous = this.stopping.get(deviceId) ?? Promise.resolve();
    void previous
      .then(() => (this.ingests.get(deviceId) === ingest ? ingest.start() : undefined))
      .catch((err: unknown) => this.o.log.error({ err, device: deviceId }, 'device ingest could not start'));
  }

  /** Stops a device's reader after `drainMs` (it may still hold the stream's last packets). */
  private stopIngest(deviceId: string, drainMs: number): Promise<void> {
    const ingest = this.ingests.get(deviceId);
    if (!ingest) return this.stopping.get(deviceId) ?? Promise.resolve();
    this.ingests.delete(deviceId);
    const before = this.stopping.get(deviceId) ?? Promise.resolve();
    const done = before.then(async () => {
      if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs).unref());
      await ingest.close();
    });
    this.stopping.set(deviceId, done);
    void done.finally(() => {
      if (this.stopping.get(deviceId) === done) this.stopping.delete(deviceId);
    });
    return done;
  }

  private async onUnpublished(info: PublishInfo): Promise<void> {
    if (info.app !== DEVICE_APP) return;
    if (this.publishing.get(info.name)?.info.sessionId !== info.sessionId) return;
    this.publishing.delete(info.name);
    this.audit.record({ actor: null, ip: info.ip.replace(/:\d+$/, '') }, 'device.publish_ended', info.name, {});
    const recorded = this.ingests.has(info.name);
    await this.stopIngest(info.name, DRAIN_MS);
    if (recorded && !this.publishing.has(info.name)) this.o.onGap(info.name, this.lastEndedAt.get(info.name) ?? this.o.clock.now().toISOString());
  }
}
