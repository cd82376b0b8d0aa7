import { Router } from 'express';
import type { Checklist } from '../checklist/checklist.ts';
import type { CameraStates } from '../cameras/camera-state.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import { forbidden } from '../shared/errors.ts';
import { currentUser } from './http-context.ts';

/** Reference data every logged-in user reads: the checklist, the templates, the rooms they may see. */
export function referenceRoutes(checklist: Checklist, rooms: RoomRepository, states: CameraStates): Router {
  const router = Router();

  router.get('/checklist', (_req, res) => {
    res.json(checklist.items);
  });

  router.get('/procedures', (_req, res) => {
    res.json(checklist.procedures);
  });

  router.get('/rooms', (_req, res) => {
    const user = currentUser(res);
    // The auditor reads the audit log and nothing else.
    if (hasAnyRole(user, ['auditor'])) throw forbidden({ en: 'The auditor role does not read rooms.', zh: '安全审计员不查看房间。' });
    const configuring = hasAnyRole(user, ['admin', 'security']);
    res.json(
      rooms
        .list()
        .filter((room) => configuring || canAccessRoom(user, room.id))
        .map((room) => ({
          id: room.id,
          name: room.name,
          kind: room.kind,
          cameras: room.cameras.map((c) => ({ id: c.id, name: c.name, role: c.role, state: states.get(c.id).state })),
        })),
    );
  });

  return router;
}
