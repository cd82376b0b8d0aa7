import { describe, expect, it } from 'vitest';
import { ntpFromEpochMs } from '../../../server/src/live/rtp-sender-direct.ts';

describe('ntpFromEpochMs (the NTP time of the worker\'s sender reports)', () => {
  it('counts seconds from 1900 and writes the milliseconds as a binary fraction of a second', () => {
    const ntp = ntpFromEpochMs(Date.UTC(2026, 11, 5, 8, 0, 0, 500));
    expect(Number(ntp >> 32n)).toBe(Date.UTC(2026, 11, 5, 8, 0, 0) / 1000 + 2_208_988_800);
    expect(Number(ntp & 0xffffffffn)).toBe(2 ** 31);
  });

  it('one millisecond is 2^32/1000 of the fraction, not a decimal digit', () => {
    const a = ntpFromEpochMs(1_000);
    const b = ntpFromEpochMs(1_001);
    expect(Number(b - a)).toBeCloseTo(2 ** 32 / 1000, -1);
    expect(Number(ntpFromEpochMs(1_999) & 0xffffffffn) / 2 ** 32).toBeCloseTo(0.999, 6);
  });
});
