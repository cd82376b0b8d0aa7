import { describe, expect, it } from 'vitest';
import { canAccessRoom } from '../../../server/src/auth/access.ts';
import { LoginRateLimiter } from '../../../server/src/auth/login-rate-limiter.ts';
import { generatePassword, hashPassword, passwordPolicyProblem, verifyPassword } from '../../../server/src/auth/passwords.ts';
import { roleCombinationProblem } from '../../../server/src/auth/roles.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';

describe('passwords', () => {
  it('hashes with scrypt and verifies only the right password', async () => {
    const hash = await hashPassword('Correct-horse-7');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(hash).not.toContain('Correct-horse-7');
    expect(await verifyPassword('Correct-horse-7', hash)).toBe(true);
    expect(await verifyPassword('correct-horse-7', hash)).toBe(false);
    expect(await hashPassword('Correct-horse-7')).not.toBe(hash);
  });

  it('enforces length, character mix and no user name', () => {
    expect(passwordPolicyProblem('Ab1-', 'alice', 10)?.en).toMatch(/at least 10 characters/);
    expect(passwordPolicyProblem('abcdefghijkl', 'alice', 10)?.en).toMatch(/at least three/);
    expect(passwordPolicyProblem('Alice-2026-x', 'alice', 10)?.en).toMatch(/user name/);
    expect(passwordPolicyProblem('Harbour-light-42', 'alice', 10)).toBeNull();
    expect(passwordPolicyProblem('Ab1-', 'alice', 10)?.zh).toBe('密码至少需要 10 个字符。');
  });

  it('generates passwords that meet the policy', () => {
    for (let i = 0; i < 200; i++) {
      const password = generatePassword();
      expect(password).toHaveLength(16);
      expect(passwordPolicyProblem(password, 'no-such-user', 10)).toBeNull();
      expect(password).not.toMatch(/[0O1lI]/);
    }
  });
});

describe('roles (三员分立)', () => {
  it('allows casework roles together but an administrator role only alone', () => {
    expect(roleCombinationProblem(['clerk'])).toBeNull();
    expect(roleCombinationProblem(['supervisor', 'legal'])).toBeNull();
    expect(roleCombinationProblem(['security'])).toBeNull();
    expect(roleCombinationProblem(['security', 'auditor'])?.en).toMatch(/cannot be combined/);
    expect(roleCombinationProblem(['admin', 'clerk'])?.en).toMatch(/cannot be combined/);
    expect(roleCombinationProblem([])?.en).toMatch(/at least one role/);
    expect(roleCombinationProblem(['clerk', 'clerk'])?.en).toMatch(/twice/);
  });

  it('limits a clerk to assigned rooms and others to assigned rooms when they have any', () => {
    expect(canAccessRoom({ roles: ['clerk'], rooms: ['hearing-1'] }, 'hearing-1')).toBe(true);
    expect(canAccessRoom({ roles: ['clerk'], rooms: ['hearing-1'] }, 'interview-1')).toBe(false);
    expect(canAccessRoom({ roles: ['clerk'], rooms: [] }, 'hearing-1')).toBe(false);
    expect(canAccessRoom({ roles: ['supervisor'], rooms: [] }, 'hearing-1')).toBe(true);
    expect(canAccessRoom({ roles: ['supervisor'], rooms: ['interview-1'] }, 'hearing-1')).toBe(false);
  });
});

describe('login rate limit', () => {
  const limits = { perUser: 3, perAddress: 5, windowMinutes: 10 };

  it('blocks a user name after N failures until the window passes', () => {
    const clock = new ManualClock(new Date('2026-12-04T00:00:00.000Z'));
    const limiter = new LoginRateLimiter(clock, limits);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfterS('Clerk', '10.0.0.1')).toBe(0);
      limiter.recordFailure('clerk', '10.0.0.1');
      clock.advance(1000);
    }
    expect(limiter.retryAfterS('clerk', '10.0.0.2')).toBe(597);
    clock.advance(597_000);
    expect(limiter.retryAfterS('clerk', '10.0.0.2')).toBe(0);
  });

  it('blocks an address that tries many user names', () => {
    const clock = new ManualClock(new Date('2026-12-04T00:00:00.000Z'));
    const limiter = new LoginRateLimiter(clock, limits);
    for (let i = 0; i < 5; i++) limiter.recordFailure(`user${i}`, '10.0.0.9');
    expect(limiter.retryAfterS('someone-else', '10.0.0.9')).toBeGreaterThan(0);
    expect(limiter.retryAfterS('someone-else', '10.0.0.8')).toBe(0);
  });

  it('a success clears the user name count', () => {
    const clock = new ManualClock(new Date('2026-12-04T00:00:00.000Z'));
    const limiter = new LoginRateLimiter(clock, limits);
    limiter.recordFailure('clerk', '10.0.0.1');
    limiter.recordFailure('clerk', '10.0.0.1');
    limiter.recordSuccess('clerk');
    limiter.recordFailure('clerk', '10.0.0.1');
    expect(limiter.retryAfterS('clerk', '10.0.0.3')).toBe(0);
  });
});
