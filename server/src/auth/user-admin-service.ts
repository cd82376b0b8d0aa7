import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import type { Db } from '../shared/db/database.ts';
import { badRequest, conflict, forbidden, notFound } from '../shared/errors.ts';
import type { LoginSessionRepository } from './login-session-repository.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { CASEWORK_ROLES, isAdministratorRole, roleCombinationProblem, type Role } from './roles.ts';
import type { User, UserRepository } from './user-repository.ts';

export interface UserChange {
  displayName?: string;
  roles?: Role[];
  rooms?: string[];
  disabled?: boolean;
}

/**
 * What the security administrator (安全保密管理员) does: casework accounts, their roles and rooms.
 * Accounts holding an administrator role (admin, security, auditor) are created at installation and
 * are out of this role's reach, so no administrator can widen their own or another's powers.
 */
export class UserAdminService {
  constructor(
    private readonly db: Db,
    private readonly users: UserRepository,
    private readonly sessions: LoginSessionRepository,
    private readonly audit: AuditLog,
  ) {}

  list(): User[] {
    return this.users.list();
  }

  async create(
    by: AuditContext,
    input: { username: string; displayName: string; roles: Role[]; rooms: string[] },
  ): Promise<{ user: User; initialPassword: string }> {
    this.checkAssignableRoles(input.roles);
    this.checkRooms(input.rooms);
    if (this.users.findCredentials(input.username)) {
      throw conflict('username_taken', {
        en: `The user name "${input.username}" is already in use: choose another.`,
        zh: `用户名“${input.username}”已被使用，请另选一个。`,
      });
    }
    const initialPassword = generatePassword();
    const passwordHash = await hashPassword(initialPassword);
    const user = this.db.transaction(() => {
      const created = this.users.create({ ...input, passwordHash, mustChangePassword: true });
      this.audit.record(by, 'user.created', created.username, { roles: created.roles, rooms: created.rooms });
      return created;
    })();
    return { user, initialPassword };
  }

  update(by: AuditContext, id: number, change: UserChange): User {
    const target = this.manageableUser(id);
    if (change.roles) this.checkAssignableRoles(change.roles);
    if (change.rooms) this.checkRooms(change.rooms);
    return this.db.transaction(() => {
      const updated = this.users.update(id, change);
      if (change.disabled === true || change.roles) this.sessions.deleteForUser(id);
      this.audit.record(by, 'user.updated', target.username, {
        before: { displayName: target.displayName, roles: target.roles, rooms: target.rooms, disabled: target.disabled },
        after: { displayName: updated.displayName, roles: updated.roles, rooms: updated.rooms, disabled: updated.disabled },
      });
      return updated;
    })();
  }

  async resetPassword(by: AuditContext, id: number): Promise<{ user: User; initialPassword: string }> {
    const target = this.manageableUser(id);
    const initialPassword = generatePassword();
    const passwordHash = await hashPassword(initialPassword);
    this.db.transaction(() => {
      this.users.setPassword(id, passwordHash, true);
      this.sessions.deleteForUser(id);
      this.audit.record(by, 'user.password_reset', target.username);
    })();
    return { user: this.users.findById(id)!, initialPassword };
  }

  private manageableUser(id: number): User {
    const user = this.users.findById(id);
    if (!user) throw notFound({ en: `User ${id}`, zh: `用户 ${id}` });
    if (user.roles.some(isAdministratorRole)) {
      throw forbidden(
        {
          en: `The account "${user.username}" holds an administrator role; administrator accounts cannot be changed from here (三员分立).`,
          zh: `账号“${user.username}”是管理员账号，不能在此修改（三员分立）。`,
        },
        'administrator_account',
      );
    }
    return user;
  }

  private checkAssignableRoles(roles: Role[]): void {
    const administrator = roles.filter(isAdministratorRole);
    if (administrator.length > 0) {
      throw forbidden(
        {
          en: `The role ${administrator.join(', ')} cannot be granted here: only casework roles (${CASEWORK_ROLES.join(', ')}) can (三员分立).`,
          zh: `不能在此授予 ${administrator.join('、')} 角色，只能授予业务角色（${CASEWORK_ROLES.join('、')}）（三员分立）。`,
        },
        'administrator_role_forbidden',
      );
    }
    const problem = roleCombinationProblem(roles);
    if (problem) throw badRequest('invalid_roles', { en: `Invalid roles: ${problem.en}.`, zh: `角色无效：${problem.zh}。` });
  }

  private checkRooms(rooms: string[]): void {
    const known = new Set(this.db.prepare<[], { id: string }>('SELECT id FROM rooms').all().map((r) => r.id));
    const unknown = rooms.filter((r) => !known.has(r));
    if (unknown.length > 0) {
      throw badRequest('unknown_room', { en: `No room with id ${unknown.join(', ')}.`, zh: `没有编号为 ${unknown.join('、')} 的房间。` });
    }
  }
}
