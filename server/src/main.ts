import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './api/app.ts';
import { AuditLog } from './audit/audit-log.ts';
import { AuthService } from './auth/auth-service.ts';
import { ensureInitialUsers } from './auth/bootstrap.ts';
import { LoginRateLimiter } from './auth/login-rate-limiter.ts';
import { LoginSessionRepository } from './auth/login-session-repository.ts';
import { UserAdminService } from './auth/user-admin-service.ts';
import { UserRepository } from './auth/user-repository.ts';
import { CameraStates } from './cameras/camera-state.ts';
import { CameraAdminService } from './cameras/camera-admin-service.ts';
import { CameraManager } from './cameras/camera-manager.ts';
import { CameraRepository } from './cameras/camera-repository.ts';
import { DiscoveryService } from './cameras/discovery-service.ts';
import { SecretBox } from './shared/secret-box.ts';
import { Simulator } from './simulator/simulator.ts';
import { DiskMonitor } from './recording/disk-monitor.ts';
import { RecordingService } from './recording/recording-service.ts';
import { SegmentRepository } from './recording/segment-repository.ts';
import { ChildRegistry, useChildRegistry } from './shared/ffmpeg/child-registry.ts';
import { CaseRepository } from './cases/case-repository.ts';
import { CaseService } from './cases/case-service.ts';
import { loadChecklist } from './checklist/checklist.ts';
import { loadComplianceRules } from './compliance/compliance.ts';
import { ComplianceService } from './compliance/compliance-service.ts';
import { HolidayCalendar } from './compliance/holiday-calendar.ts';
import { resolveSecret } from './config/loader.ts';
import type { Config } from './config/schema.ts';
import { RealtimeGateway } from './realtime/gateway.ts';
import { CustodyLog } from './custody/custody-log.ts';
import { WebRtcService } from './live/webrtc-service.ts';
import { RoomRepository } from './rooms/room-repository.ts';
import { SessionRepository } from './sessions/session-repository.ts';
import { SessionService } from './sessions/session-service.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { readClockSync } from './shared/clock-sync.ts';
import { openDatabase } from './shared/db/database.ts';
import type { Logger } from './shared/logger.ts';
import { Metrics } from './shared/metrics.ts';
import { DeviceRepository } from './devices/device-repository.ts';
import { DeviceService } from './devices/device-service.ts';
import { CameraFlvService } from './live/camera-flv.ts';
import { FlvUrlSigner } from './live/flv-url.ts';
import { MediaServer } from './live/media-server.ts';
import { LIVE_APP, PublishGuard } from './live/publish-guard.ts';
import { EvidenceRepository } from './evidence/evidence-repository.ts';
import { EvidenceService } from './evidence/evidence-service.ts';
import { SigningKey } from './evidence/signing-key.ts';
import { ReplayService } from './replay/replay-service.ts';
import { ImportRepository } from './imports/import-repository.ts';
import { ImportService } from './imports/import-service.ts';
import { RetentionRepository } from './retention/retention-repository.ts';
import { RetentionService } from './retention/retention-service.ts';
import { MANIFEST_SIG, PUBLIC_KEY } from './evidence/verifier/verify.mjs';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
export const CLIENT_DIR = fileURLToPath(new URL('../../dist/client', import.meta.url));

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Wires the services together and listens. `close()` releases everything it opened. */
export async function startServer(rootLog: Logger, config: Config, options: { clock?: Clock } = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  // One child logger per module, so every line says where it came from.
  const logFor = (mod: string) => rootLog.child({ mod });
  const log = logFor('server');
  const demo = config.mode === 'demo';
  const db = openDatabase(join(config.dataDir, 'hearing-recorder.db'), logFor('db'));
  // ffmpeg children of a server that was killed: setpriv ends them with it, this catches the rest.
  const children = new ChildRegistry(join(config.dataDir, 'children.pid'));
  const survivors = children.killSurvivors();
  if (survivors.length > 0) log.warn({ pids: survivors }, 'killed ffmpeg processes left by a previous run');
  useChildRegistry(children);
  const audit = new AuditLog(db, clock);
  const rooms = new RoomRepository(db, clock);
  rooms.seedFromConfig(config, audit, logFor('rooms'));
  const users = new UserRepository(db, clock);
  await ensureInitialUsers({ db, users, audit, log: logFor('auth'), demo, dataDir: config.dataDir });

  const loginSessions = new LoginSessionRepository(db, clock, config.auth);
  const auth = new AuthService(users, loginSessions, new LoginRateLimiter(clock, config.auth.loginRateLimit), audit, logFor('auth'), config.auth);
  const cameraStates = new CameraStates();
  const secrets = SecretBox.open(config.dataDir);
  const cameras = new CameraRepository(db, clock);
  // The demo's simulated cameras come up before the first probe so they are online at once.
  const simulator = config.simulator ? await Simulator.start({ ...config.simulator, password: resolveSecret(config.simulator.password), log: logFor('simulator') }) : null;
  const cameraManager = new CameraManager(cameras, cameraStates, secrets, logFor('cameras'), {
    intervalMs: config.cameraHealth.intervalS * 1000,
    timeoutMs: config.cameraHealth.timeoutMs,
  });
  const metrics = new Metrics(config.metrics.token === undefined ? undefined : resolveSecret(config.metrics.token));

  let gateway: RealtimeGateway | undefined;
  const checklist = loadChecklist();
  const sessionRepository = new SessionRepository(db);
  // Legal holds and destruction records: read by cases (hold state), replay, export and the scrub.
  const retentionRepository = new RetentionRepository(db);
  const cases = new CaseService(db, new CaseRepository(db), sessionRepository, audit, clock, retentionRepository);
  const sessions = new SessionService(db, sessionRepository, cases, rooms, checklist, audit, clock, logFor('sessions'), {
    state: (session, change, currentStage) =>
      gateway?.sessionState({ sessionId: session.id, caseId: session.caseId, title: session.title, roomId: session.roomId, from: change.from, state: change.to, at: change.at, actor: change.actor, reason: change.reason, currentStage }),
    mark: (session, mark, currentStage) => gateway?.sessionMark({ sessionId: session.id, roomId: session.roomId, mark, currentStage }),
  });
  const segments = new SegmentRepository(db);
  const disk = new DiskMonitor(config.dataDir, {
    warningBytes: config.recording.disk.warningGb * 1e9,
    refuseBytes: config.recording.disk.refuseGb * 1e9,
    floorBytes: config.recording.disk.floorGb * 1e9,
  }, logFor('disk'));
  const recording = new RecordingService(
    { dataDir: config.dataDir, ...config.recording },
    cameras, cameraManager, cameraStates, sessionRepository, segments, disk, audit, logFor('recording'),
  );
  sessions.setHooks(recording);
  recording.onLevel = (level) => gateway?.cameraLevel(level);
  // Evidence: the signing key (generated at the first start), manifest signatures at seal, exports, the scrub.
  const signingKey = SigningKey.open(config.dataDir);
  if (signingKey.created) {
    audit.record({ actor: null }, 'evidence.key_generated', null, { fingerprint: signingKey.fingerprint });
    log.warn({ fingerprint: signingKey.fingerprint }, 'evidence signing key generated: back it up (docs/evidence.md)');
  }
  const evidenceRepository = new EvidenceRepository(db);
  recording.signManifest = (sessionId, text) => {
    const signature = signingKey.sign(text);
    evidenceRepository.saveSignature(sessionId, signingKey.fingerprint, clock.now().toISOString());
    return [{ name: MANIFEST_SIG, content: signature }, { name: PUBLIC_KEY, content: signingKey.publicKeyPem }];
  };
  const compliance = new ComplianceService(sessions, new CaseRepository(db), segments, checklist, loadComplianceRules(), HolidayCalendar.load(), config.recording.preRollS);
  const evidence = new EvidenceService({
    dataDir: config.dataDir,
    key: signingKey,
    repository: evidenceRepository,
    sessions,
    sessionRepository,
    segments,
    compliance,
    custody: new CustodyLog(db, clock),
    audit,
    clock,
    log: logFor('evidence'),
    scrubIntervalS: config.evidence.scrubIntervalS,
    destroyed: retentionRepository,
    // Declared below: read only when an export or a scrub runs.
    imports: { storedFiles: (caseId) => imports.storedFiles(caseId) },
    onProgress: (username, event) => gateway?.exportProgress(username, event),
    onAlarm: (alarm) => gateway?.integrityAlarm(alarm),
  });
  // FLV fallback and portable devices: the embedded node-media-server, on loopback only.
  const deviceRepository = new DeviceRepository(db);
  const publishGuard = new PublishGuard((deviceId) => deviceRepository.activeKeyHash(deviceId));
  const media = config.mediaServer.enabled
    ? new MediaServer({
        rtmpPort: config.mediaServer.rtmpPort,
        rtmpHost: config.mediaServer.rtmpHost,
        pushHost: config.mediaServer.pushHost,
        httpPort: config.mediaServer.httpPort,
        fallbackToFreePort: demo,
        log: logFor('media-server'),
        authorize: (attempt) => publishGuard.authorize(attempt),
      })
    : null;
  const devices = new DeviceService(deviceRepository, audit, {
    spoolDir: recording.spool.dir,
    segmentSeconds: config.recording.segmentSeconds,
    onSegment: (segment) => recording.addPortableSegment(segment),
    onGap: (deviceId, lastEndedAt) => recording.portableGap(deviceId, lastEndedAt),
    sessions: sessionRepository,
    onAttach: (sessionId, deviceId) => recording.attachPortable(sessionId, deviceId),
    log: logFor('devices'),
    clock,
  });
  recording.setPortableSources({ devicesOf: (sessionId) => devices.devicesOf(sessionId), isLive: (deviceId) => devices.isRecording(deviceId) });
  disk.on('level', (status) => devices.setDiskFull(status.level === 'floor'));
  const flv = media
    ? new CameraFlvService({
        ingestOf: (cameraId) => recording.ingestOf(cameraId),
        publishUrl: (cameraId) => media.rtmpUrl(LIVE_APP, cameraId, { key: publishGuard.internalKey }),
        idleStopMs: config.mediaServer.flvIdleStopS * 1000,
        onStopped: (cameraId) => media.endStream(LIVE_APP, cameraId),
        log: logFor('live-flv'),
      })
    : null;
  recording.onInterruptionEvent = (event) => gateway?.recordingInterruption(event);
  disk.on('level', (status) => gateway?.diskLevel(status));
  const retention = new RetentionService({
    dataDir: config.dataDir, retention: config.retention, db, repository: retentionRepository, cases, sessions, sessionRepository, segments, audit, clock, log: logFor('retention'),
  });
  // Body-camera file imports: staged chunks, then hashed, probed and stored write-once per case.
  const imports = new ImportService(new ImportRepository(db), {
    dataDir: config.dataDir,
    ...config.imports,
    caseExists: (caseId) => void cases.get(caseId),
    deviceExists: (deviceId) => deviceRepository.get(deviceId) !== null,
    itemExists: (item) => checklist.items.some((row) => row.item === item),
    audit,
    clock,
    log: logFor('imports'),
  });
  const app = createApp({
    log: logFor('http'),
    version: PACKAGE.version,
    startedAt: Date.now(),
    demo,
    tls: config.server.tls !== undefined,
    trustProxy: config.server.trustProxy,
    jsonBodyLimit: config.server.jsonBodyLimit,
    maxSessionHours: config.auth.maxSessionHours,
    clientDir: CLIENT_DIR,
    auth,
    userAdmin: new UserAdminService(db, users, loginSessions, audit),
    audit,
    checklist,
    rooms,
    cameraStates,
    cameraAdmin: new CameraAdminService(db, cameras, rooms, cameraManager, cameraStates, secrets, audit, () => gateway?.roomsChanged()),
    cameraManager,
    preflight: { rooms, cameraStates, cameraManager, disk: () => disk.status, clockSync: readClockSync },
    discovery: new DiscoveryService(cameras, audit, config.discovery.interface),
    cases,
    segments,
    compliance,
    sessions,
    metrics,
    live: {
      auth,
      roomOfCamera: (cameraId) => {
        const camera = cameras.get(cameraId);
        return camera ? camera.roomId : undefined;
      },
      media,
      flv,
      devices,
      signer: FlvUrlSigner.open(config.dataDir, config.mediaServer.flvUrlTtlS),
      custody: new CustodyLog(db, clock),
      sessionInRoom: (roomId) => sessionRepository.activeInRoom(roomId)?.id ?? null,
      log: logFor('live-flv'),
    },
    devices,
    evidence,
    replay: new ReplayService({ dataDir: config.dataDir, sessions, segments, custody: new CustodyLog(db, clock), clock, destroyed: retentionRepository }),
    retention,
    imports,
    onLogout: (token) => gateway?.endSession(token),
  });

  const tls = config.server.tls;
  const http: Server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, app)
    : createHttpServer(app);
  const connections = new Set<Socket>();
  http.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  gateway = new RealtimeGateway(http, auth, rooms, cameraStates, logFor('realtime'), () => disk.status);
  // WebRTC live view: a worker process of its own, fed from the ingests' relays.
  const live = new WebRtcService(
    {
      iceServers: config.live.iceServers.map((s) => ({ ...s, ...(s.credential === undefined ? {} : { credential: resolveSecret(s.credential) }) })),
      candidateAddresses: config.live.candidateAddresses,
      logLevel: rootLog.level,
    },
    {
      auth,
      cameras,
      sessions: sessionRepository,
      custody: new CustodyLog(db, clock),
      ingestOf: (cameraId) => recording.ingestOf(cameraId),
      subStreamOf: (cameraId) => {
        const subUrl = cameraManager.probe(cameraId)?.subUrl;
        const camera = cameras.get(cameraId);
        return subUrl && camera ? { url: subUrl, credentials: cameraManager.credentials(camera.source) } : null;
      },
      log: logFor('live'),
    },
  );
  live.attach(gateway.io);
  metrics.gauge('hr_live_viewers', 'Live views open now', () => live.viewerCount);
  metrics.gauge('hr_live_sub_stream_pulls', 'Camera sub streams pulled for grid tiles now', () => live.subStreamPullCount);

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.server.port, config.server.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    gateway.close();
    await live.close();
    await simulator?.close();
    db.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'EADDRINUSE'
        ? `port ${config.server.port} on ${config.server.host} is already in use: stop the other program or set PORT`
        : `cannot listen on ${config.server.host}:${config.server.port}: ${(err as Error).message}`,
    );
  }
  const port = (http.address() as AddressInfo).port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  cameraManager.sync();
  recording.start();
  evidence.start();
  imports.start();
  await retention.finishInterruptedDestructions();
  await live.start();
  disk.start(config.recording.disk.checkIntervalS * 1000);
  if (media) {
    // A media server that cannot start leaves FLV and devices unavailable (503), never the rest.
    try {
      await media.start();
      devices.attach(media);
    } catch (err) {
      log.error({ err }, 'media server (RTMP, FLV) could not start: FLV live view and portable devices are unavailable');
    }
  }
  const sweep = setInterval(() => loginSessions.deleteExpired(), 10 * 60_000);
  sweep.unref();
  audit.record({ actor: null }, 'server.started', null, { version: PACKAGE.version, mode: config.mode });
  log.info({ url, port, mode: config.mode, dataDir: config.dataDir }, 'listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close: () =>
      (closing ??= (async () => {
        log.info('shutting down');
        clearInterval(sweep);
        cameraManager.close();
        disk.close();
        await live.close();
        await flv?.close();
        await devices.close();
        await media?.stop();
        await evidence.close();
        imports.close();
        await recording.close();
        gateway?.close();
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        // Requests still running get a moment to finish; then their connections are cut.
        const force = setTimeout(() => {
          for (const socket of connections) socket.destroy();
        }, 2000);
        await stopped;
        clearTimeout(force);
        // Upgraded (websocket) connections are no longer the HTTP server's: end any left.
        for (const socket of connections) socket.destroy();
        await simulator?.close();
        audit.record({ actor: null }, 'server.stopped', null);
        db.close();
        log.info('stopped');
      })()),
  };
}
