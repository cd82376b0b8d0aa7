import { describe, expect, it } from 'vitest';
import type { PublishAttempt } from '../../../server/src/live/media-server.ts';
import { hashKey, keyMatches, newKey, PublishGuard } from '../../../server/src/live/publish-guard.ts';

const attempt = (app: string, name: string, key?: string): PublishAttempt => ({ app, name, query: key === undefined ? {} : { key }, ip: '127.0.0.1:5000', protocol: 'rtmp' });

describe('who may publish on the embedded RTMP server', () => {
  const deviceKey = newKey();
  const stored = new Map([['dev-0123456789', hashKey(deviceKey).toString('hex')]]);
  const guard = new PublishGuard((id) => stored.get(id) ?? null);

  it('lets a registered device publish under its own id with its key only', () => {
    expect(guard.authorize(attempt('device', 'dev-0123456789', deviceKey))).toEqual({ allow: true });
    expect(guard.authorize(attempt('device', 'dev-0123456789', `${deviceKey}x`))).toMatchObject({ allow: false, reason: 'wrong or missing device key' });
    expect(guard.authorize(attempt('device', 'dev-0123456789'))).toMatchObject({ allow: false });
    expect(guard.authorize(attempt('device', 'dev-9999999999', deviceKey))).toMatchObject({ allow: false, reason: 'no enabled device with this id' });
  });

  it('keeps live/ for the server itself, and refuses every other application', () => {
    expect(guard.authorize(attempt('live', 'h1-wide', guard.internalKey))).toEqual({ allow: true });
    expect(guard.authorize(attempt('live', 'h1-wide', deviceKey))).toMatchObject({ allow: false });
    expect(guard.authorize(attempt('live', 'h1-wide'))).toMatchObject({ allow: false });
    expect(guard.authorize(attempt('other', 'dev-0123456789', deviceKey))).toMatchObject({ allow: false, reason: 'unknown application "other"' });
    expect(new PublishGuard(() => null).internalKey).not.toBe(guard.internalKey);
  });

  it('compares key hashes, never accepting an empty or non-string key', () => {
    const hash = hashKey('abc');
    expect(keyMatches('abc', hash)).toBe(true);
    expect(keyMatches('abd', hash)).toBe(false);
    expect(keyMatches('', hashKey(''))).toBe(false);
    expect(keyMatches(['abc'], hash)).toBe(false);
    expect(keyMatches('abc', null)).toBe(false);
    expect(newKey()).toMatch(/^[\w-]{43}$/);
  });
});
