import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { InterruptionEvent } from '../realtime/events.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CameraManager } from '../cameras/camera-manager.ts';
import type { CameraRepository } from '../cameras/camera-repository.ts';
import type { CameraStateChange, CameraStates } from '../cameras/camera-state.ts';
import { CameraIngest } from '../ingest/camera-ingest.ts';
import type { AudioLevel, Interruption as IngestInterruption, SpoolSegment } from '../ingest/camera-ingest.types.ts';
import { Spool } from '../ingest/spool.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { SessionLifecycleHooks, SessionRecord } from '../sessions/session.types.ts';
import { ApiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { DiskMonitor, DiskStatus } from './disk-monitor.ts';
import { readClockSync } from '../shared/clock-sync.ts';
import { adoptFile, makeReadOnly, MANIFEST_FILE, sessionCameraDir, sessionDir, unindexedFiles, writeFileAtomic } from './evidence-files.ts';
import type { SegmentRepository } from './segment-repository.ts';

/** Interruptions the recorder opens itself and closes at the camera's next segment. */
const OPEN_CAMERA_GAPS = ['camera_unreachable', 'server_restart', 'disk_full', 'connection_lost'] as const;

/** Portable devices as recording sources: which devices a session records (session_devices), which publish now. */
export interface PortableSources {
  devicesOf(sessionId: string): string[];
  isLive(deviceId: string): boolean;
}

export interface RecordingSettings {
  dataDir: string;
  preRollS: number;
  segmentSeconds: number;
  spoolRetentionS: number;
}

interface ActiveRecording {
  session: SessionRecord;
  cameraIds: string[];
  paused: boolean;
  /** Set at stop: segments that began before it are still adopted as they close. */
  stopAtMs: number | null;
  /** Adoptions in flight, per camera, in order. */
  queue: Map<string, Promise<void>>;
  /** After stop: cameras whose segment covering the stop instant has not closed yet. */
  pendingAtStop: Set<string>;
  /** Resolves when pendingAtStop empties, or after a bound. */
  stopped: Promise<void> | null;
  stoppedResolve: (() => void) | null;
}

/**
 * Recording: keeps one always-on ingest per online camera writing to the spool, and while a session
 * records, adopts its room's segments (pre-roll included) into the session's directory, indexes
 * each with its hash chained to the one before, and registers the cameras' interruptions. At seal,
 * the files become read-only and the session manifest is written atomically.
 */
export class RecordingService implements SessionLifecycleHooks {
  readonly spool: Spool;
  private readonly ingests = new Map<string, { ingest: CameraIngest; url: string }>();
  private readonly active = new Map<string, ActiveRecording>();
  private readonly onCameraState = (change: CameraStateChange) => this.syncIngest(change.cameraId);
  private readonly onDiskLevel = (status: DiskStatus) => void this.diskLevelChanged(status);
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Below the disk floor nothing is written: ingests stop until space comes back. */
  private diskFull = false;
  private closed = false;
  /** Audio levels of every ingest, about once a second (wired to the socket gateway). */
  onLevel: ((level: AudioLevel) => void) | null = null;
  /** A camera of a recording session lost its feed (`endedAt` null) or got it back: wall alarms. */
  onInterruptionEvent: ((event: InterruptionEvent) => void) | null = null;
  /** At seal: files to write beside the manifest (its signature, the public key), given its exact bytes. */
  signManifest: ((sessionId: string, manifestText: string) => { name: string; content: string | Buffer }[]) | null = null;
  private portable: PortableSources | null = null;

  constructor(
    private readonly settings: RecordingSettings,
    private readonly cameras: CameraRepository,
    private readonly cameraManager: CameraManager,
    private readonly cameraStates: CameraStates,
    private readonly sessions: SessionRepository,
    private readonly segments: SegmentRepository,
    private readonly disk: DiskMonitor,
    private readonly audit: AuditLog,
    private readonly log: Logger,
  ) {
    this.spool = new Spool({ dir: join(settings.dataDir, 'spool'), log });
  }

  start(): void {
    this.resumeAfterRestart();
    this.cameraStates.on('change', this.onCameraState);
    this.disk.on('level', this.onDiskLevel);
    for (const camera of this.cameras.list()) this.syncIngest(camera.id);
    const expire = () => {
      void this.spool.expire(this.settings.spoolRetentionS).catch((err: unknown) => this.log.error({ err }, 'spool expiry failed'));
    };
    this.expiryTimer = setInterval(expire, 30_000);
    this.expiryTimer.unref();
  }

  /**
   * Sessions that were recording when the server stopped (a crash, a power cut) go on recording by
   * themselves; each camera's downtime, from its last recorded segment, is an interruption that ends
   * when the camera delivers again.
   */
  private resumeAfterRestart(): void {
    const now = new Date().toISOString();
    for (const state of ['recording', 'recess'] as const) {
      for (const session of this.sessions.list({ state })) {
        const cameraIds = [...this.roomCameras(session), ...(this.portable?.devicesOf(session.id) ?? [])];
        this.active.set(session.id, {
          session, cameraIds, paused: state === 'recess', stopAtMs: null, queue: new Map(), pendingAtStop: new Set(), stopped: null, stoppedResolve: null,
        });
        if (state === 'recess') continue;
        const recorded = this.segments.list(session.id);
        for (const cameraId of cameraIds) {
          const last = recorded.filter((s) => s.cameraId === cameraId).at(-1);
          this.sessions.insertInterruption({
            sessionId: session.id, cameraId, startedAt: last?.endedAt ?? session.startedAt ?? now, endedAt: null,
            cause: 'server_restart', explanation: null, explainedBy: null, explainedAt: null,
          });
        }
        this.audit.record({ actor: null }, 'recording.resumed_after_restart', session.id, { cameras: cameraIds });
        void this.reportUnindexed(session);
        this.log.warn({ session: session.id, cameras: cameraIds }, 'recording resumed after a restart');
      }
    }
  }

  /** A segment moved in but never indexed (a crash in between) is reported for the record, never deleted. */
  private async reportUnindexed(session: SessionRecord): Promise<void> {
    if (!session.startedAt) return;
    const indexed = new Set(this.segments.list(session.id).map((s) => s.file));
    const files = await unindexedFiles(this.settings.dataDir, sessionDir(this.settings.dataDir, new Date(session.startedAt), session.id), indexed);
    if (files.length === 0) return;
    this.audit.record({ actor: null }, 'recording.unindexed_files', session.id, { files });
    this.log.error({ session: session.id, files }, 'segment files without an index row: kept and reported');
  }

  /**
   * Portable devices recorded like cameras (set before start()): their segments arrive through
   * `addPortableSegment`, the end of a push through `portableGap`.
   */
  setPortableSources(sources: PortableSources): void {
    this.portable = sources;
  }

  /** A closed, hashed segment of a publishing portable device: into the spool, and adopted where it is recorded. */
  addPortableSegment(segment: SpoolSegment): void {
    this.onSegment(segment);
  }

  /** A device stopped publishing (its last segment ended at `startedAt`): an open gap wherever it is recorded, ended by its next segment. */
  portableGap(deviceId: string, startedAt: string): void {
    for (const recording of this.active.values()) {
      if (!recording.cameraIds.includes(deviceId) || recording.paused || recording.stopAtMs !== null) continue;
      // One open gap at a time: the next segment ends it.
      if (this.sessions.interruptions(recording.session.id).some((i) => i.cameraId === deviceId && i.endedAt === null)) continue;
      this.sessions.insertInterruption({
        sessionId: recording.session.id, cameraId: deviceId, startedAt, endedAt: null, cause: 'connection_lost',
        explanation: null, explainedBy: null, explainedAt: null,
      });
      this.log.warn({ session: recording.session.id, device: deviceId, from: startedAt }, 'portable device stopped publishing: recording interrupted');
    }
    this.publishInterruption(deviceId, 'connection_lost', startedAt, null);
  }

  /**
   * A device attached to a session that already records: from now on it is one of its sources; what it
   * published since the session's pre-roll is adopted, and while it does not publish that is a gap.
   */
  async attachPortable(sessionId: string, deviceId: string): Promise<void> {
    const recording = this.active.get(sessionId);
    if (!recording || recording.cameraIds.includes(deviceId) || recording.stopAtMs !== null) return;
    recording.cameraIds.push(deviceId);
    await this.recordClocks(recording.session, [], [deviceId], false);
    if (recording.paused) return;
    this.startPortable(recording, deviceId, new Date().toISOString());
  }

  private startPortable(recording: ActiveRecording, deviceId: string, missingFrom: string): void {
    if (!this.portable?.isLive(deviceId)) {
      this.sessions.insertInterruption({
        sessionId: recording.session.id, cameraId: deviceId, startedAt: missingFrom, endedAt: null, cause: 'camera_unreachable',
        explanation: null, explainedBy: null, explainedAt: null,
      });
      return;
    }
    const from = new Date(Date.parse(recording.session.startedAt!) - this.settings.preRollS * 1000);
    for (const segment of this.spool.adopt(deviceId, from)) this.enqueue(recording, segment);
  }

  private roomCameras(session: SessionRecord): string[] {
    return session.roomId ? this.cameras.list().filter((c) => c.roomId === session.roomId && c.enabled).map((c) => c.id) : [];
  }

  /** A camera's running ingest, for live consumers (`subscribeRtp`); undefined while it has none. */
  ingestOf(cameraId: string): CameraIngest | undefined {
    return this.ingests.get(cameraId)?.ingest;
  }

  /** Starts an ingest for a camera that came online with a known main stream; stops one for a removed camera. */
  private syncIngest(cameraId: string): void {
    if (this.closed) return;
    const camera = this.cameras.get(cameraId);
    const running = this.ingests.get(cameraId);
    const probe = this.cameraManager.probe(cameraId);
    if (!camera || !camera.enabled) {
      if (running) void this.stopIngest(cameraId);
      return;
    }
    if (!probe || this.cameraStates.get(cameraId).state !== 'online' || this.diskFull) return;
    if (running && running.url === probe.mainUrl) return;
    if (running) void this.stopIngest(cameraId);
    const ingest = new CameraIngest({
      cameraId,
      rtspUrl: probe.mainUrl,
      credentials: this.cameraManager.credentials(camera.source),
      spoolDir: this.spool.dir,
      segmentSeconds: this.settings.segmentSeconds,
      cameraClockOffsetMs: probe.clockOffsetMs ?? 0,
      log: this.log.child({ camera: cameraId }),
    });
    ingest.on('segment', (segment) => this.onSegment(segment));
    ingest.on('level', (level) => this.onLevel?.(level));
    ingest.on('drift', (drift) => {
      this.audit.record({ actor: null }, 'recording.clock_drift', drift.cameraId, { driftMs: drift.driftMs, at: drift.at });
      this.log.warn({ camera: drift.cameraId, driftMs: drift.driftMs }, 'camera clock drift re-anchored');
    });
    ingest.on('gap', (gap) => this.publishInterruption(gap.cameraId, gap.cause, gap.startedAt, null));
    ingest.on('interruption', (interruption) => this.onInterruption(interruption));
    ingest.on('startFailed', (err) => this.log.error({ err, camera: cameraId }, 'ingest could not start'));
    this.ingests.set(cameraId, { ingest, url: probe.mainUrl });
    if ([...this.active.values()].some((r) => r.cameraIds.includes(cameraId))) ingest.setRecording(true);
    void ingest.start().catch((err: unknown) => this.log.error({ err, camera: cameraId }, 'ingest start failed'));
  }

  private async stopIngest(cameraId: string): Promise<void> {
    const running = this.ingests.get(cameraId);
    this.ingests.delete(cameraId);
    await running?.ingest.close();
  }

  // Session lifecycle ------------------------------------------------------------------------

  async onStart(session: SessionRecord): Promise<void> {
    const disk = await this.disk.check();
    if (disk.level === 'refuse' || disk.level === 'floor') {
      throw new ApiError(503, 'disk_full', {
        en: `Only ${Math.round(disk.freeBytes / 1e9)} GB are free: a new session would not fit. Free space on the recording disk (nothing is deleted automatically).`,
        zh: `录像磁盘仅剩 ${Math.round(disk.freeBytes / 1e9)} GB，无法开始新的记录。请清理磁盘空间（系统不会自动删除录像）。`,
      });
    }
    const cameraIds = this.roomCameras(session);
    const deviceIds = this.portable?.devicesOf(session.id) ?? [];
    await this.recordClocks(session, cameraIds, deviceIds);
    const recording: ActiveRecording = { session, cameraIds: [...cameraIds, ...deviceIds], paused: false, stopAtMs: null, queue: new Map(), pendingAtStop: new Set(), stopped: null, stoppedResolve: null };
    this.active.set(session.id, recording);
    const from = new Date(Date.parse(session.startedAt!) - this.settings.preRollS * 1000);
    for (const cameraId of cameraIds) {
      const running = this.ingests.get(cameraId);
      if (!running) {
        // No picture from this camera at the start: a gap from the first instant, to be explained.
        this.sessions.insertInterruption({
          sessionId: session.id, cameraId, startedAt: session.startedAt!, endedAt: null, cause: 'camera_unreachable',
          explanation: null, explainedBy: null, explainedAt: null,
        });
        continue;
      }
      running.ingest.setRecording(true);
      for (const segment of this.spool.adopt(cameraId, from)) this.enqueue(recording, segment);
    }
    for (const deviceId of deviceIds) this.startPortable(recording, deviceId, session.startedAt!);
  }

  /** The server's clock sync state and each camera's clock offset, stored with the session at its start. */
  private async recordClocks(session: SessionRecord, cameraIds: string[], deviceIds: string[] = [], withServer = true): Promise<void> {
    const measuredAt = new Date().toISOString();
    if (withServer) {
      const server = await readClockSync();
      this.segments.recordClock({ sessionId: session.id, subject: 'server', offsetMs: null, synchronized: server.synchronized, source: server.source, detail: server.detail, measuredAt });
    }
    for (const deviceId of deviceIds) {
      this.segments.recordClock({
        sessionId: session.id, subject: deviceId, offsetMs: null, synchronized: null, source: 'arrival',
        detail: 'portable device over RTMP: times are its arrival at the server', measuredAt,
      });
    }
    for (const cameraId of cameraIds) {
      const probe = this.cameraManager.probe(cameraId);
      this.segments.recordClock({
        sessionId: session.id, subject: cameraId, offsetMs: probe?.clockOffsetMs ?? null, synchronized: null,
        source: probe?.clockOffsetMs == null ? 'unknown' : 'onvif', detail: probe ? null : 'camera not probed', measuredAt,
      });
    }
  }

  onRecess(session: SessionRecord): void {
    const recording = this.active.get(session.id);
    if (recording) recording.paused = true;
  }

  onResume(session: SessionRecord): void {
    const recording = this.active.get(session.id);
    if (recording) recording.paused = false;
  }

  onStop(session: SessionRecord): void {
    const recording = this.active.get(session.id);
    if (!recording) return;
    recording.stopAtMs = Date.parse(session.endedAt!);
    // The segment under way at the stop instant closes within about one segment length: wait for it
    // from every camera that is delivering, bounded in case a camera dies just then.
    recording.pendingAtStop = new Set(recording.cameraIds.filter((id) => this.ingests.get(id)?.ingest.state === 'running' || (this.portable?.isLive(id) ?? false)));
    recording.stopped = new Promise<void>((resolve) => {
      recording.stoppedResolve = resolve;
      setTimeout(resolve, (this.settings.segmentSeconds * 2 + 2) * 1000).unref();
      if (recording.pendingAtStop.size === 0) resolve();
    });
    void recording.stopped.then(() => this.finish(session.id));
  }

  async beforeSeal(session: SessionRecord): Promise<void> {
    await this.finish(session.id);
    const rows = this.segments.list(session.id);
    const files = rows.map((r) => join(this.settings.dataDir, r.file));
    const missing = files.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      throw new ApiError(409, 'segments_missing', {
        en: `${missing.length} recorded segment file(s) are missing; the session cannot be sealed. Check the recording disk.`,
        zh: `${missing.length} 个录像片段文件缺失，无法封存。请检查录像磁盘。`,
      });
    }
    const manifest = {
      format: 'hearing-recorder/session-manifest/1',
      session: { ...session, sealedAt: undefined, sealedBy: undefined },
      participants: this.sessions.participants(session.id).map(({ idNumber: _idNumber, ...p }) => p),
      marks: this.sessions.marks(session.id),
      corrections: this.sessions.corrections(session.id),
      interruptions: this.sessions.interruptions(session.id),
      clock: this.segments.clock(session.id).map(({ sessionId: _s, ...entry }) => entry),
      cameras: [...new Set(rows.map((r) => r.cameraId))].map((cameraId) => ({
        cameraId,
        segments: rows.filter((r) => r.cameraId === cameraId).map(({ sessionId: _s, cameraId: _c, ...r }) => r),
      })),
    };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    const dir = sessionDir(this.settings.dataDir, new Date(session.startedAt!), session.id);
    await mkdir(dir, { recursive: true });
    const manifestFile = join(dir, MANIFEST_FILE);
    // The signature files go in first: once manifest.json exists nothing more is written there.
    const signatureFiles = (this.signManifest?.(session.id, text) ?? []).map((f) => ({ ...f, path: join(dir, f.name) }));
    for (const f of signatureFiles) await writeFileAtomic(f.path, f.content);
    await writeFileAtomic(manifestFile, text);
    await makeReadOnly([...files, ...signatureFiles.map((f) => f.path), manifestFile]);
    const sha256 = createHash('sha256').update(text).digest('hex');
    this.segments.saveManifest(session.id, relative(this.settings.dataDir, manifestFile), sha256, new Date().toISOString());
    this.audit.record({ actor: null }, 'session.manifest_written', session.id, { sha256, segments: rows.length });
  }

  /**
   * Below the floor every ingest stops cleanly (its last segment closes) and each recording camera
   * gets an interruption; when space comes back the ingests restart and the gaps close at their
   * next segment. Nothing is ever deleted to make room.
   */
  private async diskLevelChanged(status: DiskStatus): Promise<void> {
    if (status.level === 'floor' && !this.diskFull) {
      this.diskFull = true;
      const at = new Date().toISOString();
      for (const recording of this.active.values()) {
        if (recording.paused || recording.stopAtMs !== null) continue;
        for (const cameraId of recording.cameraIds) {
          this.sessions.insertInterruption({
            sessionId: recording.session.id, cameraId, startedAt: at, endedAt: null, cause: 'disk_full',
            explanation: null, explainedBy: null, explainedAt: null,
          });
        }
      }
      this.audit.record({ actor: null }, 'recording.disk_floor', null, { freeBytes: status.freeBytes });
      this.log.error({ freeBytes: status.freeBytes }, 'disk below the floor: recording stopped until space is freed');
      await Promise.allSettled([...this.ingests.keys()].map((id) => this.stopIngest(id)));
    } else if (status.level !== 'floor' && this.diskFull) {
      this.diskFull = false;
      this.audit.record({ actor: null }, 'recording.disk_recovered', null, { freeBytes: status.freeBytes });
      for (const camera of this.cameras.list()) this.syncIngest(camera.id);
    }
  }

  // Segments and gaps ----------------------------------------------------------------------------

  private onSegment(segment: SpoolSegment): void {
    this.spool.add(segment);
    for (const recording of this.active.values()) {
      if (!recording.cameraIds.includes(segment.cameraId) || recording.paused) continue;
      if (recording.stopAtMs !== null && Date.parse(segment.startedAt) >= recording.stopAtMs) continue;
      this.spool.adopt(segment.cameraId, new Date(Date.parse(segment.endedAt) - 1));
      this.enqueue(recording, segment);
      if (recording.stopAtMs !== null && Date.parse(segment.endedAt) >= recording.stopAtMs) {
        recording.pendingAtStop.delete(segment.cameraId);
        if (recording.pendingAtStop.size === 0) recording.stoppedResolve?.();
      }
      // A camera missing at the start, after a restart or while the disk was full delivers again: its gap ends here.
      for (const cause of OPEN_CAMERA_GAPS) {
        this.sessions.endOpenInterruptions(recording.session.id, segment.startedAt, { cameraId: segment.cameraId, cause });
      }
    }
  }

  private onInterruption(gap: IngestInterruption): void {
    for (const recording of this.active.values()) {
      if (!recording.cameraIds.includes(gap.cameraId) || recording.paused) continue;
      this.sessions.insertInterruption({
        sessionId: recording.session.id, cameraId: gap.cameraId, startedAt: gap.startedAt, endedAt: gap.endedAt,
        cause: gap.cause, explanation: null, explainedBy: null, explainedAt: null,
      });
      this.log.warn({ session: recording.session.id, camera: gap.cameraId, cause: gap.cause, from: gap.startedAt, to: gap.endedAt }, 'recording interrupted');
    }
    this.publishInterruption(gap.cameraId, gap.cause, gap.startedAt, gap.endedAt);
  }

  private publishInterruption(cameraId: string, cause: string, startedAt: string, endedAt: string | null): void {
    for (const recording of this.active.values()) {
      if (!recording.cameraIds.includes(cameraId) || recording.paused) continue;
      const event: InterruptionEvent = { sessionId: recording.session.id, roomId: recording.session.roomId, cameraId, cause, startedAt, endedAt };
      try {
        this.onInterruptionEvent?.(event);
      } catch (err) {
        this.log.error({ err }, 'interruption listener threw');
      }
    }
  }

  /** Adopts one segment after the ones before it of the same camera, keeping the chain in order. */
  private enqueue(recording: ActiveRecording, segment: SpoolSegment): void {
    const before = recording.queue.get(segment.cameraId) ?? Promise.resolve();
    const next = before.then(() => this.adopt(recording.session, segment)).catch((err: unknown) => {
      this.log.error({ err, session: recording.session.id, camera: segment.cameraId, file: segment.file }, 'segment adoption failed');
    });
    recording.queue.set(segment.cameraId, next);
  }

  private async adopt(session: SessionRecord, segment: SpoolSegment): Promise<void> {
    if (!existsSync(segment.file)) return; // already moved into another session
    const seq = this.segments.nextSeq(session.id, segment.cameraId);
    const dir = sessionCameraDir(this.settings.dataDir, new Date(session.startedAt!), session.id, segment.cameraId);
    const destination = join(dir, `${String(seq).padStart(6, '0')}.ts`);
    await adoptFile(segment.file, destination, segment.sha256);
    this.segments.append({
      sessionId: session.id,
      cameraId: segment.cameraId,
      file: relative(this.settings.dataDir, destination),
      startedAt: segment.startedAt,
      endedAt: segment.endedAt,
      durationMs: Math.round((segment.mediaEndS - segment.mediaStartS) * 1000),
      bytes: segment.bytes,
      sha256: segment.sha256,
      timeSource: segment.timeSource,
      adoptedAt: new Date().toISOString(),
    });
  }

  /** Waits for the last segments and adoptions of a stopped session, then lets its cameras go. */
  private async finish(sessionId: string): Promise<void> {
    const recording = this.active.get(sessionId);
    if (!recording) return;
    await recording.stopped;
    await Promise.all(recording.queue.values());
    if (recording.stopAtMs === null || !this.active.has(sessionId)) return;
    this.active.delete(sessionId);
    for (const cameraId of recording.cameraIds) {
      const stillUsed = [...this.active.values()].some((r) => r.cameraIds.includes(cameraId));
      if (!stillUsed) this.ingests.get(cameraId)?.ingest.setRecording(false);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expiryTimer);
    this.cameraStates.off('change', this.onCameraState);
    this.disk.off('level', this.onDiskLevel);
    await Promise.all([...this.active.values()].flatMap((r) => [...r.queue.values()]));
    await Promise.allSettled([...this.ingests.keys()].map((id) => this.stopIngest(id)));
  }
}
