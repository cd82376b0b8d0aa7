import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { User } from '../auth/user-repository.ts';
import type { SessionRecord } from './session.types.ts';

type Who = Pick<User, 'username' | 'roles' | 'rooms'>;

/**
 * Who may do what with a session (docs/roles.md). A clerk runs sessions in the rooms assigned to
 * them, and a session without a room (portable device) only when they opened it. Supervisor and
 * legal read the sessions of the rooms they may see. Administrator roles do no casework.
 */
export function canRunSession(user: Who, session: Pick<SessionRecord, 'roomId' | 'createdBy'>): boolean {
  if (!hasAnyRole(user, ['clerk'])) return false;
  return session.roomId === null ? session.createdBy === user.username : canAccessRoom(user, session.roomId);
}

export function canReadSession(user: Who, session: Pick<SessionRecord, 'roomId' | 'createdBy'>): boolean {
  if (canRunSession(user, session)) return true;
  if (!hasAnyRole(user, ['supervisor', 'legal'])) return false;
  return session.roomId === null || canAccessRoom(user, session.roomId);
}

/** Identity numbers in full: legal staff, who prepare decisions and exports. Everyone else sees them masked. */
export const seesIdNumbers = (user: Who): boolean => hasAnyRole(user, ['legal']);
