import type { User } from './user-repository.ts';
import type { Role } from './roles.ts';

export const hasAnyRole = (user: Pick<User, 'roles'>, roles: readonly Role[]): boolean =>
  user.roles.some((r) => roles.includes(r));

/**
 * Whether a user may see a room. A clerk works only in the rooms assigned to them; other users are
 * limited to their assigned rooms when they have any, and see every room otherwise.
 */
export function canAccessRoom(user: Pick<User, 'roles' | 'rooms'>, roomId: string): boolean {
  if (user.rooms.length > 0) return user.rooms.includes(roomId);
  return !user.roles.every((r) => r === 'clerk');
}
