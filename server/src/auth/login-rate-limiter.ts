import type { Clock } from '../shared/clock.ts';

/**
 * Failed logins counted per user name and per address over a sliding window. Memory only: a restart
 * forgets, which is acceptable for one server and keeps the database free of noise.
 */
export class LoginRateLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: { perUser: number; perAddress: number; windowMinutes: number },
  ) {}

  /** Seconds to wait before another attempt, or 0 when one is allowed now. */
  retryAfterS(username: string, ip: string): number {
    const waits = [
      this.wait(`user:${username.toLowerCase()}`, this.limits.perUser),
      this.wait(`ip:${ip}`, this.limits.perAddress),
    ];
    return Math.max(...waits);
  }

  recordFailure(username: string, ip: string): void {
    const now = this.clock.now().getTime();
    for (const key of [`user:${username.toLowerCase()}`, `ip:${ip}`]) {
      const list = this.recent(key);
      list.push(now);
      this.failures.set(key, list);
    }
    // Addresses that never come back would otherwise stay in memory for good.
    if (this.failures.size > 10_000) for (const key of [...this.failures.keys()]) this.recent(key);
  }

  recordSuccess(username: string): void {
    this.failures.delete(`user:${username.toLowerCase()}`);
  }

  private wait(key: string, limit: number): number {
    const list = this.recent(key);
    if (list.length < limit) return 0;
    const oldestCounted = list[list.length - limit]!;
    return Math.max(1, Math.ceil((oldestCounted + this.windowMs() - this.clock.now().getTime()) / 1000));
  }

  private recent(key: string): number[] {
    const since = this.clock.now().getTime() - this.windowMs();
    const list = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  private windowMs(): number {
    return this.limits.windowMinutes * 60_000;
  }
}
