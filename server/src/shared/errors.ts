/**
 * Errors that cross the API boundary. A service throws an ApiError with a stable snake_case code
 * and a message that says what was wrong and what to do; the HTTP layer maps it to
 * `{ error: { code, message } }` with the status. Anything else is a 500 with no detail.
 */
export type ApiErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 416 | 429 | 503;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ApiErrorStatus,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const unauthorized = (message = 'Not logged in or the session has expired: log in again.') =>
  new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string, code = 'forbidden') => new ApiError(403, code, message);
export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} was not found.`);
export const conflict = (code: string, message: string) => new ApiError(409, code, message);

/** Thrown by a repository or service when a precondition on state does not hold. */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}
