import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { CameraAdminService, CameraInput } from '../cameras/camera-admin-service.ts';
import type { CameraManager } from '../cameras/camera-manager.ts';
import type { DiscoveryService } from '../cameras/discovery-service.ts';
import { CameraProbeError } from '../cameras/rtsp-describe.types.ts';
import { ApiError, forbidden } from '../shared/errors.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lowercase letters, digits and hyphens, e.g. "h1-wide"');
const rtspUrl = z.url().refine((u) => u.startsWith('rtsp://'), 'expected an rtsp:// URL').refine((u) => !/^rtsp:\/\/[^/]*@/.test(u), 'put credentials in username/password, not in the URL');
const cameraFields = {
  name: z.string().trim().min(1).max(64),
  roomId: id.nullable().default(null),
  role: z.string().trim().max(32).default(''),
  enabled: z.boolean().default(true),
  onvif: z
    .strictObject({ url: z.url().refine((u) => /^https?:\/\//.test(u), 'expected an http(s):// URL'), username: z.string().min(1).max(64), password: z.string().min(1).max(128).optional() })
    .optional(),
  rtsp: z
    .strictObject({ mainUrl: rtspUrl, subUrl: rtspUrl.optional(), username: z.string().min(1).max(64).optional(), password: z.string().min(1).max(128).optional() })
    .optional(),
};
const exactlyOneSource = (b: { onvif?: unknown; rtsp?: unknown }) => (b.onvif === undefined) !== (b.rtsp === undefined);
const sourceMessage = { message: 'give exactly one of onvif (device service URL) or rtsp (direct URL)' };
const createBody = z.strictObject({ id, ...cameraFields }).refine(exactlyOneSource, sourceMessage);
const updateBody = z.strictObject(cameraFields).refine(exactlyOneSource, sourceMessage);
const roomBody = z.strictObject({ id, name: z.string().trim().min(1).max(64), kind: z.enum(['hearing', 'interview']) });
const roomChange = z.strictObject({ name: z.string().trim().min(1).max(64).optional(), kind: z.enum(['hearing', 'interview']).optional() });
const discoverBody = z.strictObject({
  addresses: z.array(z.string().regex(/^[\w.:[\]-]+$/, 'expected a host or host:port')).max(256).optional(),
  timeoutMs: z.number().int().min(100).max(10_000).default(2000),
});

function toInput(body: z.infer<typeof updateBody>): CameraInput {
  const { onvif, rtsp, ...rest } = body;
  return { ...rest, source: onvif ? { kind: 'onvif', ...onvif } : { kind: 'rtsp', ...rtsp! } };
}

const by = (req: Request, res: Response) => ({ actor: currentUser(res).username, ip: clientInfo(req).ip });

/** Cameras and rooms: the admin configures them; snapshots for whoever may see the room. */
export function cameraRoutes(service: CameraAdminService, manager: CameraManager, discovery: DiscoveryService): Router {
  const router = Router();

  router.get('/cameras/:id/snapshot.jpg', async (req, res) => {
    const camera = service.get(String(req.params.id));
    const user = currentUser(res);
    const allowed = hasAnyRole(user, ['admin']) || (camera.roomId !== null && hasAnyRole(user, ['clerk', 'supervisor', 'legal']) && canAccessRoom(user, camera.roomId));
    if (!allowed) throw forbidden({ en: 'You may not see this camera.', zh: '无权查看此摄像机。' });
    try {
      const jpeg = await manager.snapshot(camera);
      res.setHeader('Content-Type', 'image/jpeg');
      res.setHeader('Cache-Control', 'no-store');
      res.send(jpeg);
    } catch (err) {
      if (!(err instanceof CameraProbeError)) throw err;
      throw new ApiError(503, 'camera_unavailable', { en: `No snapshot: ${err.message}.`, zh: `无法获取画面：${err.message}。` });
    }
  });

  // Per route, not router.use: this router is mounted without a path prefix.
  const admin = requireRole('admin');

  router.get('/cameras', admin, (_req, res) => {
    res.json(service.list());
  });

  router.post('/cameras/discover', admin, async (req, res) => {
    const body = validate(discoverBody, req.body);
    res.json(await discovery.discover(by(req, res), body));
  });

  router.post('/cameras', admin, (req, res) => {
    const body = validate(createBody, req.body);
    res.status(201).json(service.create(by(req, res), body.id, toInput(body)));
  });

  router.put('/cameras/:id', admin, (req, res) => {
    res.json(service.update(by(req, res), String(req.params.id), toInput(validate(updateBody, req.body))));
  });

  router.delete('/cameras/:id', admin, (req, res) => {
    service.remove(by(req, res), String(req.params.id));
    res.status(204).end();
  });

  router.post('/cameras/:id/test', admin, async (req, res) => {
    res.json(await service.test(by(req, res), String(req.params.id)));
  });

  router.post('/rooms', admin, (req, res) => {
    const body = validate(roomBody, req.body);
    service.createRoom(by(req, res), body);
    res.status(201).json({ id: body.id });
  });

  router.patch('/rooms/:id', admin, (req, res) => {
    service.updateRoom(by(req, res), String(req.params.id), validate(roomChange, req.body));
    res.status(204).end();
  });

  router.delete('/rooms/:id', admin, (req, res) => {
    service.removeRoom(by(req, res), String(req.params.id));
    res.status(204).end();
  });

  return router;
}
