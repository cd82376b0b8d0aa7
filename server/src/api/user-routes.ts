import { Router } from 'express';
import { z } from 'zod';
import { ROLES } from '../auth/roles.ts';
import type { UserAdminService } from '../auth/user-admin-service.ts';
import type { User } from '../auth/user-repository.ts';
import { badRequest } from '../shared/errors.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const role = z.enum(ROLES);
const roomId = z.string().min(1).max(64);
const createBody = z.strictObject({
  username: z
    .string()
    .regex(/^[a-z][a-z0-9._-]{1,31}$/, 'expected 2-32 lowercase letters, digits, dot, underscore or hyphen, starting with a letter'),
  displayName: z.string().trim().min(1).max(64),
  roles: z.array(role).min(1),
  rooms: z.array(roomId).default([]),
});
const updateBody = z
  .strictObject({
    displayName: z.string().trim().min(1).max(64).optional(),
    roles: z.array(role).min(1).optional(),
    rooms: z.array(roomId).optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one of displayName, roles, rooms, disabled');

const userView = (u: User) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  roles: u.roles,
  rooms: u.rooms,
  disabled: u.disabled,
  mustChangePassword: u.mustChangePassword,
  createdAt: u.createdAt,
});

function userId(param: string | undefined): number {
  const id = Number(param);
  if (!Number.isInteger(id) || id <= 0) {
    throw badRequest('invalid_request', { en: 'The user id must be a positive whole number.', zh: '用户编号须为正整数。' });
  }
  return id;
}

/** User and room-assignment administration: the security administrator's job alone. */
export function userRoutes(service: UserAdminService): Router {
  const router = Router();
  router.use(requireRole('security'));
  const by = (req: Parameters<typeof clientInfo>[0], res: Parameters<typeof currentUser>[0]) => ({
    actor: currentUser(res).username,
    ip: clientInfo(req).ip,
  });

  router.get('/', (_req, res) => {
    res.json(service.list().map(userView));
  });

  router.post('/', async (req, res) => {
    const body = validate(createBody, req.body);
    const { user, initialPassword } = await service.create(by(req, res), body);
    res.status(201).json({ id: user.id, username: user.username, initialPassword });
  });

  router.patch('/:id', (req, res) => {
    const body = validate(updateBody, req.body);
    res.json(userView(service.update(by(req, res), userId(req.params.id), body)));
  });

  router.post('/:id/reset-password', async (req, res) => {
    const { initialPassword } = await service.resetPassword(by(req, res), userId(req.params.id));
    res.json({ initialPassword });
  });

  return router;
}
