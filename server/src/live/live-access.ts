import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { User } from '../auth/user-repository.ts';

type Who = Pick<User, 'roles' | 'rooms'>;

/**
 * Who may watch a camera live (issue 5, docs/roles.md): supervisors every room they may see (all
 * of them unless rooms are assigned to them), clerks the rooms assigned to them; a camera in no room
 * only supervisors. Legal staff and the administrator roles do not watch live.
 */
export function canWatchRoom(user: Who, roomId: string | null): boolean {
  if (hasAnyRole(user, ['supervisor']) && (roomId === null || canAccessRoom(user, roomId))) return true;
  return roomId !== null && hasAnyRole(user, ['clerk']) && user.rooms.includes(roomId);
}

/** Portable devices have no room: supervisors watch them. */
export const canWatchDevice = (user: Who): boolean => hasAnyRole(user, ['supervisor']);
