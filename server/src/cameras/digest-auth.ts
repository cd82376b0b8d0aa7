import { createHash, randomBytes } from 'node:crypto';

/** A parsed `WWW-Authenticate` challenge (RFC 2617 / 7616 with MD5, as cameras use). */
export interface AuthChallenge {
  scheme: 'Digest' | 'Basic';
  realm: string;
  nonce?: string;
  opaque?: string;
  qop?: string;
  algorithm?: string;
}

/** The strongest challenge among one or more WWW-Authenticate header values, or null. */
export function parseChallenge(headers: string | string[] | undefined): AuthChallenge | null {
  const values = (Array.isArray(headers) ? headers : headers ? [headers] : []).filter(Boolean);
  const parsed = values.map(parseOne).filter((c): c is AuthChallenge => c !== null);
  return parsed.find((c) => c.scheme === 'Digest') ?? parsed[0] ?? null;
}

function parseOne(value: string): AuthChallenge | null {
  const match = /^\s*(Digest|Basic)\s+(.*)$/i.exec(value);
  if (!match) return null;
  const params: Record<string, string> = {};
  for (const m of match[2]!.matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) params[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  const scheme = match[1]!.toLowerCase() === 'digest' ? 'Digest' : 'Basic';
  return { scheme, realm: params.realm ?? '', nonce: params.nonce, opaque: params.opaque, qop: params.qop, algorithm: params.algorithm };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** The Authorization header answering a challenge for one request. */
export function authorizationHeader(
  challenge: AuthChallenge,
  credentials: { username: string; password: string },
  method: string,
  uri: string,
  nonceCount = 1,
): string {
  if (challenge.scheme === 'Basic') {
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }
  const ha1 = md5(`${credentials.username}:${challenge.realm}:${credentials.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const parts = [`username="${credentials.username}"`, `realm="${challenge.realm}"`, `nonce="${challenge.nonce ?? ''}"`, `uri="${uri}"`];
  const qop = challenge.qop?.split(',').map((q) => q.trim()).includes('auth') ? 'auth' : undefined;
  if (qop) {
    const nc = nonceCount.toString(16).padStart(8, '0');
    const cnonce = randomBytes(8).toString('hex');
    parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`, `response="${md5(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:${qop}:${ha2}`)}"`);
  } else {
    parts.push(`response="${md5(`${ha1}:${challenge.nonce}:${ha2}`)}"`);
  }
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  if (challenge.algorithm) parts.push(`algorithm=${challenge.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}
