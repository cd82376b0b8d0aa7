import type { NextFunction, Request, Response } from 'express';
import { ApiError, type Language, type Text } from '../shared/errors.ts';
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
      res.status(known.status).json({ error: { code: known.code, message: known.text[preferredLanguage(req)] } });
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message: Text = { en: 'The server failed to handle this request; it has been logged.', zh: '服务器处理此请求失败，已记录日志。' };
    res.status(500).json({ error: { code: 'internal', message: message[preferredLanguage(req)] } });
  };
}

function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  const parser = err as BodyParserError;
  switch (parser?.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', { en: 'The request body is too large.', zh: '请求内容过大。' });
    case 'entity.parse.failed':
      return new ApiError(400, 'invalid_json', { en: 'The request body is not valid JSON.', zh: '请求内容不是有效的 JSON。' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_media_type', { en: 'Send the body as UTF-8 JSON.', zh: '请以 UTF-8 编码的 JSON 发送请求内容。' });
    default:
      return null;
  }
}

/** Chinese when the request prefers it (the web client says so), English otherwise. */
function preferredLanguage(req: Request): Language {
  return req.acceptsLanguages('en', 'zh') === 'zh' ? 'zh' : 'en';
}
