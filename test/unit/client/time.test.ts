import { describe, expect, test } from 'vitest';
import { formatInstant } from '../../../client/src/lib/time.ts';

describe('formatInstant shows API instants in Beijing time', () => {
  test('UTC morning is the same afternoon in Asia/Shanghai', () => {
    expect(formatInstant('2026-12-04T08:00:00.123Z')).toBe('2026-12-04 16:00:00');
    expect(formatInstant('2026-12-04T08:00:00.123Z', true)).toBe('2026-12-04 16:00:00.123');
  });

  test('late UTC evening rolls over to the next day, midnight shows as 00', () => {
    expect(formatInstant('2026-12-31T16:00:00.000Z')).toBe('2027-01-01 00:00:00');
    expect(formatInstant('2026-06-30T23:59:59.999Z', true)).toBe('2026-07-01 07:59:59.999');
  });

  test('empty and unparseable input is shown as given', () => {
    expect(formatInstant(null)).toBe('');
    expect(formatInstant('')).toBe('');
    expect(formatInstant('not a date')).toBe('not a date');
  });
});
