import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { DeviceService } from '../devices/device-service.ts';
import type { Caller } from '../sessions/session-service.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const registerBody = z.strictObject({
  name: z.string().trim().min(1).max(64),
  officer: z.string().trim().min(1).max(64),
  badgeNumber: z.string().trim().min(1).max(32),
});

const attachBody = z.strictObject({ deviceId: z.string().regex(/^dev-[0-9a-f]{10}$/, 'expected a device id such as "dev-0123456789"') });

const by = (req: Request, res: Response) => ({ actor: currentUser(res).username, ip: clientInfo(req).ip });
const caller = (req: Request, res: Response): Caller => ({ user: currentUser(res), ip: clientInfo(req).ip });

/** Portable devices (执法记录仪): the admin registers and disables them; a clerk records one into a session (docs/api.md). */
export function deviceRoutes(devices: DeviceService): Router {
  const router = Router();
  // Before the admin-only guard: a clerk picks a device for his session (no keys in it).
  router.get('/devices/attachable', requireRole('clerk'), (_req, res) => {
    res.json(devices.attachable());
  });
  router.use('/devices', requireRole('admin'));
  router.post('/devices', (req, res) => {
    const input = validate(registerBody, req.body);
    res.status(201).json(devices.register(by(req, res), input));
  });
  router.get('/devices', (_req, res) => {
    res.json(devices.list());
  });
  router.post('/devices/:id/disable', (req, res) => {
    res.json(devices.disable(by(req, res), String(req.params.id)));
  });
  // A device recorded into a session: its clerk adds it; whoever may read the session sees it.
  router.post('/sessions/:id/devices', async (req, res) => {
    const { deviceId } = validate(attachBody, req.body);
    res.status(201).json(await devices.attachToSession(caller(req, res), String(req.params.id), deviceId));
  });
  router.get('/sessions/:id/devices', (req, res) => {
    res.json(devices.devicesOfSession(caller(req, res), String(req.params.id)));
  });
  return router;
}
