// One fetch wrapper for the JSON API: same-origin cookie, `{ error: { code, message } }` errors as
// ApiError, and two global reactions (session expired → login, forced password change). Requests
// carry the UI language in Accept-Language so the server can word its messages to match.
import { i18n } from './i18n.svelte.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface Hooks {
  /** A 401 from anything but the credential checks themselves: the session is gone. */
  onUnauthorized(): void;
  /** 403 password_change_required: the account must change its password first. */
  onPasswordChangeRequired(): void;
}

let hooks: Hooks = { onUnauthorized: () => {}, onPasswordChangeRequired: () => {} };
export function setApiHooks(h: Hooks): void {
  hooks = h;
}

/** 401 on these means "wrong password", not "session expired". */
const CREDENTIAL_PATHS = new Set(['/api/auth/login', '/api/auth/password']);

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        'accept-language': i18n.lang === 'en' ? 'en' : 'zh-CN,zh;q=0.9',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', '');
  }
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const data = (await res.json()) as { error?: { code?: string; message?: string } };
    if (data.error?.code) code = data.error.code;
    if (data.error?.message) message = data.error.message;
  } catch {
    // not JSON (a proxy's error page): keep the status line
  }
  if (res.status === 401 && !CREDENTIAL_PATHS.has(path)) hooks.onUnauthorized();
  if (res.status === 403 && code === 'password_change_required') hooks.onPasswordChangeRequired();
  throw new ApiError(res.status, code, message);
}

export const get = <T>(path: string): Promise<T> => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body ?? {});
export const patch = <T>(path: string, body: unknown): Promise<T> => api<T>('PATCH', path, body);
export const put = <T>(path: string, body: unknown): Promise<T> => api<T>('PUT', path, body);
export const del = <T = void>(path: string): Promise<T> => api<T>('DELETE', path);
