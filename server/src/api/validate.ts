import { z } from 'zod';
import { badRequest } from '../shared/errors.ts';

const chineseErrors = z.locales.zhCN().localeError;

/** Parses request input or throws 400 `invalid_request` naming each field that is wrong, in both languages. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // The same check again with zod's Chinese messages (messages written on a schema stay as written).
  const chinese = schema.safeParse(value, { error: chineseErrors });
  const list = (issues: z.core.$ZodIssue[]) =>
    issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : what}: ${issue.message}`);
  throw badRequest('invalid_request', {
    en: `Invalid ${what}: ${list(result.error.issues).join('; ')}.`,
    zh: `请求内容无效：${list(chinese.success ? [] : chinese.error.issues).join('；')}。`,
  });
}
