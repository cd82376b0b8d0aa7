import type { NextFunction, Request, Response } from 'express';
import type { AuthService, AuthUser, ClientInfo } from '../auth/auth-service.ts';
import type { Role } from '../auth/roles.ts';
import { hasAnyRole } from '../auth/access.ts';
import { forbidden, unauthorized } from '../shared/errors.ts';

export const SESSION_COOKIE = 'hr_session';

/** Reads one cookie from a Cookie header without pulling in a parser for the sake of one value. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

export function clientInfo(req: Request): ClientInfo {
  return { ip: req.ip ?? req.socket.remoteAddress ?? 'unknown', userAgent: req.get('user-agent') ?? null };
}

export function currentUser(res: Response): AuthUser {
  const user = res.locals.user as AuthUser | undefined;
  if (!user) throw unauthorized();
  return user;
}

/** Paths a user who must change their password may still use. */
const ALLOWED_BEFORE_PASSWORD_CHANGE = new Set(['/api/auth/me', '/api/auth/password', '/api/auth/logout']);

/** Every /api route but health and login passes here: a live login session is required. */
export function requireSession(auth: AuthService) {
  return (req: Request, res: Response, next: NextFunction) => {
    const user = auth.authenticate(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (!user) throw unauthorized();
    if (user.mustChangePassword && !ALLOWED_BEFORE_PASSWORD_CHANGE.has(`${req.baseUrl}${req.path}`)) {
      throw forbidden(
        { en: 'Change your password before doing anything else.', zh: '请先修改密码，再进行其他操作。' },
        'password_change_required',
      );
    }
    res.locals.user = user;
    next();
  };
}

/** The route needs one of these roles (see docs/roles.md). */
export function requireRole(...roles: Role[]) {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (!hasAnyRole(currentUser(res), roles)) {
      throw forbidden({ en: `This needs the role ${roles.join(' or ')}.`, zh: `此操作需要以下角色之一：${roles.join('、')}。` });
    }
    next();
  };
}
