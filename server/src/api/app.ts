import express, { type Request, type Response, type NextFunction } from 'express';
import helmet from 'helmet';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { UserAdminService } from '../auth/user-admin-service.ts';
import type { CameraStates } from '../cameras/camera-state.ts';
import type { CameraAdminService } from '../cameras/camera-admin-service.ts';
import type { CameraManager } from '../cameras/camera-manager.ts';
import type { DiscoveryService } from '../cameras/discovery-service.ts';
import type { CaseService } from '../cases/case-service.ts';
import type { DeviceService } from '../devices/device-service.ts';
import type { Checklist } from '../checklist/checklist.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import type { SessionService } from '../sessions/session-service.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import { ApiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import { auditRoutes } from './audit-routes.ts';
import { authRoutes } from './auth-routes.ts';
import { errorHandler } from './error-handler.ts';
import { requireSession } from './http-context.ts';
import { referenceRoutes } from './reference-routes.ts';
import { cameraRoutes } from './camera-routes.ts';
import { caseRoutes } from './case-routes.ts';
import { deviceRoutes } from './device-routes.ts';
import { flvStreamRoutes, liveApiRoutes, type LiveRouteDependencies } from './live-routes.ts';
import { preflightRoutes, type PreflightDependencies } from './preflight-routes.ts';
import { sessionRoutes } from './session-routes.ts';
import type { ComplianceService } from '../compliance/compliance-service.ts';
import type { EvidenceService } from '../evidence/evidence-service.ts';
import { evidenceRoutes } from './evidence-routes.ts';
import type { ReplayService } from '../replay/replay-service.ts';
import { replayRoutes } from './replay-routes.ts';
import type { ImportService } from '../imports/import-service.ts';
import { importRoutes } from './import-routes.ts';
import type { RetentionService } from '../retention/retention-service.ts';
import { retentionRoutes } from './retention-routes.ts';
import { userRoutes } from './user-routes.ts';

export interface AppDependencies {
  log: Logger;
  version: string;
  startedAt: number;
  demo: boolean;
  tls: boolean;
  trustProxy: boolean | string;
  jsonBodyLimit: string;
  maxSessionHours: number;
  clientDir: string;
  auth: AuthService;
  userAdmin: UserAdminService;
  audit: AuditLog;
  checklist: Checklist;
  rooms: RoomRepository;
  cameraStates: CameraStates;
  cameraAdmin: CameraAdminService;
  cameraManager: CameraManager;
  preflight: PreflightDependencies;
  discovery: DiscoveryService;
  cases: CaseService;
  sessions: SessionService;
  segments: SegmentRepository;
  compliance: ComplianceService;
  metrics: Metrics;
  /** FLV live view (signed URLs, the proxy) and what it needs. */
  live: LiveRouteDependencies;
  devices: DeviceService;
  /** Exports, the signing key, the integrity scrub. */
  evidence: EvidenceService;
  /** HLS replay of recorded sessions. */
  replay: ReplayService;
  /** Body-camera file imports into cases. */
  imports: ImportService;
  /** Legal holds, retention candidates, the two-person destruction procedure. */
  retention: RetentionService;
  onLogout: (sessionToken: string) => void;
}

/** Client routes served by index.html (the client routes itself). */
const CLIENT_ROUTES = /^\/(login|console|wall|replay|admin)?(\/.*)?$/;

export function createApp(deps: AppDependencies): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy);
  app.set('etag', false);

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          baseUri: ["'self'"],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          formAction: ["'self'"],
          scriptSrc: ["'self'"],
          // Svelte sets style attributes; hls.js and mpegts.js play from blob: URLs and workers.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          mediaSrc: ["'self'", 'blob:'],
          workerSrc: ["'self'", 'blob:'],
          connectSrc: ["'self'", 'ws:', 'wss:'],
          fontSrc: ["'self'", 'data:'],
          // No upgrade-insecure-requests: the product is opened over plain HTTP on a LAN.
        },
      },
      // Both apply only to a secure origin; over plain HTTP on a LAN browsers ignore them with a console error.
      strictTransportSecurity: deps.tls ? { maxAge: 15552000 } : false,
      crossOriginOpenerPolicy: deps.tls ? { policy: 'same-origin' } : false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use(deps.metrics.httpMiddleware());

  app.get('/metrics', deps.metrics.endpoint());

  const api = express.Router();
  api.use(express.json({ limit: deps.jsonBodyLimit }));
  api.use(requireJsonBody);
  api.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      version: deps.version,
      uptimeS: Math.round((Date.now() - deps.startedAt) / 1000),
      demo: deps.demo,
    });
  });
  api.use(
    '/auth',
    authRoutes(deps.auth, { secure: deps.tls, maxAgeS: deps.maxSessionHours * 3600 }, deps.onLogout),
  );
  api.use(requireSession(deps.auth));
  api.use('/users', userRoutes(deps.userAdmin));
  api.use('/audit', auditRoutes(deps.audit));
  api.use(referenceRoutes(deps.checklist, deps.rooms, deps.cameraStates));
  api.use(preflightRoutes(deps.preflight));
  api.use(cameraRoutes(deps.cameraAdmin, deps.cameraManager, deps.discovery));
  api.use(caseRoutes(deps.cases));
  api.use(sessionRoutes(deps.sessions, deps.segments, deps.compliance));
  api.use(liveApiRoutes(deps.live));
  api.use(deviceRoutes(deps.devices));
  api.use(evidenceRoutes(deps.evidence));
  api.use(replayRoutes(deps.replay));
  api.use(importRoutes(deps.imports));
  api.use(retentionRoutes(deps.retention));
  api.use((req) => {
    const route = `${req.method} ${req.baseUrl}${req.path}`;
    throw new ApiError(404, 'not_found', { en: `There is no API route ${route}.`, zh: `没有此接口：${route}。` });
  });
  app.use('/api', api);
  // FLV streams on the main port, behind the login and a signed URL (not under /api: no JSON body rules).
  app.use(flvStreamRoutes(deps.live));

  serveClient(app, deps.clientDir, deps.log);
  app.use((req: Request) => {
    throw new ApiError(404, 'not_found', { en: `Nothing is served at ${req.path}.`, zh: `此地址没有内容：${req.path}。` });
  });
  app.use(errorHandler(deps.log));
  return app;
}

/**
 * A state-changing request must be JSON: a cross-site HTML form cannot send that without a CORS
 * preflight, which this server never grants (defence beside the SameSite=Strict cookie).
 */
function requireJsonBody(req: Request, _res: Response, next: NextFunction) {
  const changes = !['GET', 'HEAD', 'OPTIONS'].includes(req.method);
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  // An import chunk is raw bytes: application/octet-stream also needs a CORS preflight cross-site.
  const rawChunk = req.method === 'PUT' && req.is('application/octet-stream') !== false;
  if (changes && hasBody && !req.is('application/json') && !rawChunk) {
    throw new ApiError(415, 'unsupported_media_type', {
      en: 'Send the request body as application/json.',
      zh: '请以 application/json 格式发送请求内容。',
    });
  }
  next();
}

function serveClient(app: express.Express, clientDir: string, log: Logger): void {
  const index = join(clientDir, 'index.html');
  if (!existsSync(index)) {
    log.warn({ clientDir }, 'the web client is not built: run `npm run build` (npm start does it)');
    return;
  }
  app.use(
    express.static(clientDir, {
      index: false,
      setHeaders: (res, path) => {
        // Hashed assets never change; index.html must always be fresh.
        res.setHeader('Cache-Control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  app.get(CLIENT_ROUTES, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}
