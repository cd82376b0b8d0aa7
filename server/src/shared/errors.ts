/**
 * Errors that cross the API boundary. A service throws an ApiError with a stable snake_case code
 * and a message, in English and Chinese, that says what was wrong and what to do; the HTTP layer
 * answers `{ error: { code, message } }` in the language the request prefers. Anything else is a 500
 * with no detail.
 */
export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 429 | 503;

/** A message for a person, in both languages of the UI. */
export interface Text {
  en: string;
  zh: string;
}

export type Language = keyof Text;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ApiErrorStatus,
    readonly code: string,
    readonly text: Text,
    /** Extra response headers, e.g. Retry-After on 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(text.en);
  }
}

export const badRequest = (code: string, text: Text) => new ApiError(400, code, text);
export const unauthorized = () =>
  new ApiError(401, 'unauthorized', {
    en: 'Not logged in, or the session has expired: log in again.',
    zh: '未登录或登录已过期，请重新登录。',
  });
export const forbidden = (text: Text, code = 'forbidden') => new ApiError(403, code, text);
export const notFound = (what: Text) =>
  new ApiError(404, 'not_found', { en: `${what.en} was not found.`, zh: `未找到${what.zh}。` });
export const conflict = (code: string, text: Text) => new ApiError(409, code, text);
