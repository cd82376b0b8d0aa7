// Who is logged in, whether the server runs in demo mode, and the login/logout/password actions.
import { ApiError, get, post, setApiHooks } from './api.ts';
import { cameraAdmin } from './cameras.svelte.ts';
import { live } from './live.svelte.ts';
import { rooms } from './rooms.svelte.ts';
import { router } from './router.svelte.ts';
import type { Health, Me } from './types.ts';

class Session {
  me = $state<Me | null>(null);
  demo = $state(false);
  version = $state('');
  ready = $state(false);

  constructor() {
    setApiHooks({
      onUnauthorized: () => this.expire(),
      onPasswordChangeRequired: () => {
        if (this.me) this.me.mustChangePassword = true;
      },
    });
  }

  async init(): Promise<void> {
    const [health, me] = await Promise.allSettled([get<Health>('/api/health'), get<Me>('/api/auth/me')]);
    if (health.status === 'fulfilled') {
      this.demo = health.value.demo === true;
      this.version = health.value.version;
    }
    if (me.status === 'fulfilled') this.me = me.value;
    else if (me.reason instanceof ApiError && me.reason.code === 'password_change_required') {
      // Logged in, but the server tells nothing else until the generated password is changed.
      this.me = { username: '', displayName: '', roles: [], rooms: [], mustChangePassword: true };
    } else this.me = null;
    this.ready = true;
  }

  async login(username: string, password: string): Promise<Me> {
    const me = await post<Me>('/api/auth/login', { username, password });
    this.me = me;
    return me;
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await post<void>('/api/auth/password', { currentPassword, newPassword });
    this.me = await get<Me>('/api/auth/me');
  }

  async logout(): Promise<void> {
    try {
      await post<void>('/api/auth/logout');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // already logged out or server gone: leave anyway
    }
    this.expire();
  }

  /** Forget the user and go to the login page. */
  expire(): void {
    this.me = null;
    live.disconnect();
    rooms.clear();
    cameraAdmin.clear();
    if (router.path !== '/login') router.navigate('/login', { replace: true });
  }
}

export const session = new Session();
