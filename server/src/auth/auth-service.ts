import type { AuditLog } from '../audit/audit-log.ts';
import { ApiError, badRequest } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { LoginRateLimiter } from './login-rate-limiter.ts';
import type { LoginSessionRepository } from './login-session-repository.ts';
import { hashPassword, passwordPolicyProblem, UNKNOWN_USER_HASH, verifyPassword } from './passwords.ts';
import type { User, UserRepository } from './user-repository.ts';

export interface ClientInfo {
  ip: string;
  userAgent: string | null;
}

/** The logged-in user as the rest of the server sees them. */
export interface AuthUser extends User {
  sessionToken: string;
}

/** Login, logout, session lookup and a user's own password change. */
export class AuthService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: LoginSessionRepository,
    private readonly limiter: LoginRateLimiter,
    private readonly audit: AuditLog,
    private readonly log: Logger,
    private readonly policy: { passwordMinLength: number },
  ) {}

  async login(username: string, password: string, client: ClientInfo): Promise<{ token: string; user: User }> {
    const retryAfter = this.limiter.retryAfterS(username, client.ip);
    if (retryAfter > 0) {
      this.audit.record({ actor: null, ip: client.ip }, 'auth.login_throttled', username);
      throw new ApiError(
        429,
        'too_many_attempts',
        { en: `Too many failed logins. Try again in ${retryAfter} s.`, zh: `登录失败次数过多，请 ${retryAfter} 秒后再试。` },
        { 'Retry-After': String(retryAfter) },
      );
    }
    const found = this.users.findCredentials(username);
    // Check a hash even for unknown users so the answer time does not reveal which names exist.
    const matches = await verifyPassword(password, found?.passwordHash ?? UNKNOWN_USER_HASH);
    if (!found || !matches || found.user.disabled) {
      this.limiter.recordFailure(username, client.ip);
      const reason = !found ? 'unknown_user' : !matches ? 'wrong_password' : 'disabled';
      this.audit.record({ actor: null, ip: client.ip }, 'auth.login_failed', username, { reason });
      this.log.warn({ username, ip: client.ip, reason }, 'login failed');
      throw new ApiError(401, 'invalid_credentials', {
        en: 'Wrong user name or password, or the account is disabled.',
        zh: '用户名或密码错误，或账号已停用。',
      });
    }
    this.limiter.recordSuccess(username);
    const { token } = this.sessions.create(found.user.id, client);
    this.audit.record({ actor: found.user.username, ip: client.ip }, 'auth.login', found.user.username);
    this.log.info({ username: found.user.username, ip: client.ip }, 'login');
    return { token, user: found.user };
  }

  /** The user behind a session token, or null when the session is unknown, expired or disabled. */
  authenticate(token: string | undefined): AuthUser | null {
    if (!token) return null;
    const session = this.sessions.touch(token);
    if (!session) return null;
    const user = this.users.findById(session.userId);
    if (!user || user.disabled) return null;
    return { ...user, sessionToken: token };
  }

  logout(user: AuthUser, client: ClientInfo): void {
    this.sessions.delete(user.sessionToken);
    this.audit.record({ actor: user.username, ip: client.ip }, 'auth.logout', user.username);
  }

  async changePassword(user: AuthUser, currentPassword: string, newPassword: string, client: ClientInfo): Promise<void> {
    const stored = this.users.passwordHash(user.id);
    if (!stored || !(await verifyPassword(currentPassword, stored))) {
      this.audit.record({ actor: user.username, ip: client.ip }, 'auth.password_change_failed', user.username);
      throw new ApiError(401, 'invalid_credentials', { en: 'The current password is wrong.', zh: '当前密码不正确。' });
    }
    const problem = passwordPolicyProblem(newPassword, user.username, this.policy.passwordMinLength);
    if (problem) throw badRequest('weak_password', problem);
    if (await verifyPassword(newPassword, stored)) {
      throw badRequest('weak_password', { en: 'The new password must differ from the current one.', zh: '新密码不能与当前密码相同。' });
    }
    this.users.setPassword(user.id, await hashPassword(newPassword), false);
    // Other browsers logged in as this user lose their sessions; this one stays.
    this.sessions.deleteForUser(user.id, user.sessionToken);
    this.audit.record({ actor: user.username, ip: client.ip }, 'auth.password_changed', user.username);
  }
}
