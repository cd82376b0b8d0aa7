import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/** Maps any error to `{ error: { code, message } }`. A stack never reaches the client. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const known = toApiError(err);
    if (known) {
      for (const [name, value] of Object.entries(known.headers)) res.setHeader(name, value);
      res.status(known.status).json({ error: { code: known.code, message: known.message } });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).json({ error: { code: 'internal', message: 'The server failed to handle this request; it has been logged.' } });
  };
}

function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  const parser = err as BodyParserError;
  switch (parser?.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', 'The request body is too large.');
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', 'Send the body as UTF-8 JSON.');
    default:
      return null;
  }
}
