import { Router } from 'express';
import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { CameraManager } from '../cameras/camera-manager.ts';
import type { CameraStates } from '../cameras/camera-state.ts';
import type { DiskStatus } from '../recording/disk-monitor.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import type { ClockSyncState } from '../shared/clock-sync.ts';
import { forbidden, notFound } from '../shared/errors.ts';
import { currentUser } from './http-context.ts';

export interface PreflightDependencies {
  rooms: RoomRepository;
  cameraStates: CameraStates;
  cameraManager: CameraManager;
  disk: () => DiskStatus | null;
  clockSync: () => Promise<ClockSyncState>;
}

/**
 * What a clerk checks before starting a session in a room: each camera's state, clock offset and
 * audio, the server's clock synchronisation as the OS reports it, and the free disk level.
 */
export function preflightRoutes(deps: PreflightDependencies): Router {
  const router = Router();
  router.get('/rooms/:id/preflight', async (req, res) => {
    const user = currentUser(res);
    const roomId = String(req.params.id);
    if (!hasAnyRole(user, ['clerk', 'supervisor'])) throw forbidden({ en: 'Only clerks and supervisors run pre-flight checks.', zh: '仅书记员和监督人员可进行开始前检查。' });
    const room = deps.rooms.list().find((r) => r.id === roomId);
    if (!room) throw notFound({ en: 'The room', zh: '该房间' });
    if (!canAccessRoom(user, room.id)) throw forbidden({ en: 'This room is not assigned to you.', zh: '该房间未分配给您。' });
    res.json({
      roomId: room.id,
      at: new Date().toISOString(),
      cameras: room.cameras.map((c) => {
        const state = deps.cameraStates.get(c.id);
        const probe = deps.cameraManager.probe(c.id);
        return { id: c.id, name: c.name, state: state.state, reason: state.reason, clockOffsetMs: probe?.clockOffsetMs ?? null, audio: probe ? probe.audio !== null : null };
      }),
      serverClock: await deps.clockSync(),
      disk: deps.disk(),
    });
  });
  return router;
}
