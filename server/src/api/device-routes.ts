import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { DeviceService } from '../devices/device-service.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const registerBody = z.strictObject({
  name: z.string().trim().min(1).max(64),
  officer: z.string().trim().min(1).max(64),
  badgeNumber: z.string().trim().min(1).max(32),
});

const by = (req: Request, res: Response) => ({ actor: currentUser(res).username, ip: clientInfo(req).ip });

/** Portable devices (执法记录仪): the admin registers and disables them (docs/api.md). */
export function deviceRoutes(devices: DeviceService): Router {
  const router = Router();
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
  return router;
}
