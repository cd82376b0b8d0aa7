import type { z } from 'zod';
import { badRequest } from '../shared/errors.ts';

/** Parses request input or throws 400 `invalid_request` naming each field that is wrong. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : what;
    if (issue.code === 'unrecognized_keys') return `${field}: unknown field(s) ${issue.keys.join(', ')}`;
    return `${field}: ${issue.message}`;
  });
  // Field names and zod's reasons stay as they are: they name the fields of the API.
  throw badRequest('invalid_request', {
    en: `Invalid ${what}: ${problems.join('; ')}.`,
    zh: `请求内容无效（${what}）：${problems.join('；')}。`,
  });
}
