import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Text } from '../shared/errors.ts';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

// N=2^15, r=8, p=1: about 32 MiB and tens of milliseconds per check, off the event loop in libuv.
const PARAMS = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

/** `scrypt$N$r$p$salt$key`, salt and key in base64. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password.normalize('NFC'), salt, KEY_LENGTH, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltB64, keyB64] = stored.split('$');
  if (scheme !== 'scrypt' || !saltB64 || !keyB64) return false;
  const expected = Buffer.from(keyB64, 'base64');
  const key = await scryptAsync(password.normalize('NFC'), Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: PARAMS.maxmem,
  });
  return timingSafeEqual(key, expected);
}

/** A hash of a password nobody knows, checked for unknown users so timing does not reveal them. */
export const UNKNOWN_USER_HASH = await hashPassword(randomBytes(18).toString('base64'));

/** Why a new password is refused, in a sentence a user can act on, or null when it is acceptable. */
export function passwordPolicyProblem(password: string, username: string, minLength: number): Text | null {
  if (password.length < minLength) {
    return { en: `The password must have at least ${minLength} characters.`, zh: `密码至少需要 ${minLength} 个字符。` };
  }
  if (password.length > 256) return { en: 'The password must have at most 256 characters.', zh: '密码最多 256 个字符。' };
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) {
    return {
      en: 'The password must mix at least three of: lowercase letters, uppercase letters, digits, other symbols.',
      zh: '密码须包含小写字母、大写字母、数字、其他符号中的至少三类。',
    };
  }
  if (password.toLowerCase().includes(username.toLowerCase())) {
    return { en: 'The password must not contain the user name.', zh: '密码不能包含用户名。' };
  }
  return null;
}

const GROUPS = ['abcdefghijkmnpqrstuvwxyz', 'ABCDEFGHJKLMNPQRSTUVWXYZ', '23456789', '-_.!@#%+='];

/** A random password that meets the policy, without look-alike characters, for first logins. */
export function generatePassword(length = 16): string {
  const all = GROUPS.join('');
  const chars = GROUPS.map((g) => g[randomInt(g.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}
