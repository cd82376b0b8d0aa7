import { Router } from 'express';
import { z } from 'zod';
import type { AuthService } from '../auth/auth-service.ts';
import type { User } from '../auth/user-repository.ts';
import { clientInfo, currentUser, requireSession, SESSION_COOKIE } from './http-context.ts';
import { validate } from './validate.ts';

const loginBody = z.strictObject({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });
const passwordBody = z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: z.string().min(1).max(256) });

/** What a user may know about their own account. */
export const selfView = (user: User) => ({
  username: user.username,
  displayName: user.displayName,
  roles: user.roles,
  rooms: user.rooms,
  mustChangePassword: user.mustChangePassword,
});

export function authRoutes(
  auth: AuthService,
  cookie: { secure: boolean; maxAgeS: number },
  onLogout: (sessionToken: string) => void,
): Router {
  const router = Router();
  const flags = `Path=/; HttpOnly; SameSite=Strict${cookie.secure ? '; Secure' : ''}`;

  router.post('/login', async (req, res) => {
    const body = validate(loginBody, req.body);
    const { token, user } = await auth.login(body.username, body.password, clientInfo(req));
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${token}; Max-Age=${cookie.maxAgeS}; ${flags}`);
    res.json(selfView(user));
  });

  router.use(requireSession(auth));

  router.get('/me', (_req, res) => {
    res.json(selfView(currentUser(res)));
  });

  router.post('/logout', (req, res) => {
    const user = currentUser(res);
    auth.logout(user, clientInfo(req));
    onLogout(user.sessionToken);
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; Max-Age=0; ${flags}`);
    res.status(204).end();
  });

  router.post('/password', async (req, res) => {
    const body = validate(passwordBody, req.body);
    await auth.changePassword(currentUser(res), body.currentPassword, body.newPassword, clientInfo(req));
    res.status(204).end();
  });

  return router;
}
