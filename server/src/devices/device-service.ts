import { randomBytes } from 'node:crypto';
import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import type { SpoolSegment } from '../ingest/camera-ingest.types.ts';
import { DEVICE_APP, hashKey, newKey } from '../live/publish-guard.ts';
import type { MediaServer, PublishAttempt, PublishInfo } from '../live/media-server.ts';
import { ApiError, notFound } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { DeviceIngest } from './device-ingest.ts';
import type { DeviceRepository } from './device-repository.ts';
import type { DeviceInput, DeviceRecord, DeviceRegistered, DeviceView } from './device.types.ts';

const DRAIN_MS = 1500;

export interface DeviceServiceOptions {
  /** The spool root the cameras' ingests write to. */
  spoolDir: string;
  segmentSeconds: number;
  /** Each closed, hashed segment of a publishing device (wired to the recording spool). */
  onSegment: (segment: SpoolSegment) => void;
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
  private readonly ingests = new Map<string, { ingest: DeviceIngest; sessionId: string }>();
  private readonly draining = new Set<DeviceIngest>();
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
    return { id, pushUrl: this.media.rtmpUrl(DEVICE_APP, id, { key }) };
  }

  list(): DeviceView[] {
    return this.repo.list().map((d) => ({ ...d, live: this.ingests.has(d.id) }));
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

  /** Whether a device is publishing now. */
  isLive(id: string): boolean {
    return this.ingests.has(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...[...this.ingests.values()].map((e) => e.ingest), ...this.draining];
    this.ingests.clear();
    await Promise.allSettled(all.map((ingest) => ingest.close()));
  }

  private onRefused(attempt: PublishAttempt & { reason: string }): void {
    const ip = attempt.ip.replace(/:\d+$/, '');
    this.audit.record({ actor: null, ip }, 'device.publish_refused', `${attempt.app}/${attempt.name}`, {
      app: attempt.app, name: attempt.name, protocol: attempt.protocol, reason: attempt.reason,
    });
  }

  private onPublished(info: PublishInfo): void {
    if (info.app !== DEVICE_APP || this.closed || !this.media) return;
    const previous = this.ingests.get(info.name);
    if (previous) void previous.ingest.close();
    const ingest = new DeviceIngest({
      deviceId: info.name,
      sourceUrl: this.media.rtmpUrl(DEVICE_APP, info.name),
      spoolDir: this.o.spoolDir,
      segmentSeconds: this.o.segmentSeconds,
      publishedAtMs: this.o.clock.now().getTime(),
      log: this.o.log,
    });
    ingest.on('segment', (segment) => {
      this.o.log.info({ device: segment.cameraId, seq: segment.seq, file: segment.file, bytes: segment.bytes, sha256: segment.sha256, startedAt: segment.startedAt, endedAt: segment.endedAt }, 'device segment');
      this.o.onSegment(segment);
    });
    this.ingests.set(info.name, { ingest, sessionId: info.sessionId });
    this.audit.record({ actor: null, ip: info.ip.replace(/:\d+$/, '') }, 'device.publish_started', info.name, {});
    void ingest.start().catch((err: unknown) => this.o.log.error({ err, device: info.name }, 'device ingest could not start'));
  }

  private async onUnpublished(info: PublishInfo): Promise<void> {
    if (info.app !== DEVICE_APP) return;
    const entry = this.ingests.get(info.name);
    if (!entry || entry.sessionId !== info.sessionId) return;
    this.ingests.delete(info.name);
    this.audit.record({ actor: null, ip: info.ip.replace(/:\d+$/, '') }, 'device.publish_ended', info.name, {});
    // The reader may still hold the stream's last packets: give it a moment before stopping it.
    this.draining.add(entry.ingest);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS).unref());
    await entry.ingest.close();
    this.draining.delete(entry.ingest);
  }
}
