import { describe, expect, it } from 'vitest';
import { DELAY_THRESHOLD_MS, placeMark } from '../../../server/src/sessions/mark-timing.ts';
import { maskIdNumber } from '../../../server/src/sessions/identity-number.ts';

const SERVER = Date.parse('2026-12-04T02:00:00.000Z');
const START = SERVER - 600_000;

describe('placeMark', () => {
  it('places a mark delivered on time at the server time, whatever the client clock says', () => {
    // The client's clock runs 5 s behind (offset +5000): corrected, it was clicked 300 ms ago.
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: SERVER - 5300, clockOffsetMs: 5000, notBeforeMs: START })).toEqual({ effectiveAtMs: SERVER, delayed: false });
  });

  it('places a late delivery at the client time corrected by the measured offset', () => {
    const clicked = SERVER - 45_000;
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: clicked - 5000, clockOffsetMs: 5000, notBeforeMs: START })).toEqual({ effectiveAtMs: clicked, delayed: true });
  });

  it('counts a delivery as late only beyond the threshold', () => {
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: SERVER - DELAY_THRESHOLD_MS, clockOffsetMs: 0, notBeforeMs: START }).delayed).toBe(false);
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: SERVER - DELAY_THRESHOLD_MS - 1, clockOffsetMs: 0, notBeforeMs: START }).delayed).toBe(true);
  });

  it('does not trust an uncorrected client clock: without an offset the server time is used', () => {
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: SERVER - 45_000, clockOffsetMs: null, notBeforeMs: START })).toEqual({ effectiveAtMs: SERVER, delayed: false });
  });

  it('never places a late mark before the session started', () => {
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: START - 60_000, clockOffsetMs: 0, notBeforeMs: START })).toEqual({ effectiveAtMs: START, delayed: true });
  });

  it('places a mark from a client clock ahead of the server at the server time', () => {
    expect(placeMark({ serverTimeMs: SERVER, clientTimeMs: SERVER + 60_000, clockOffsetMs: 0, notBeforeMs: START })).toEqual({ effectiveAtMs: SERVER, delayed: false });
  });
});

describe('maskIdNumber', () => {
  it('keeps the first and last four characters of a resident identity number', () => {
    expect(maskIdNumber('130102199001011234')).toBe('1301**********1234');
    expect(maskIdNumber('13010219900101123X')).toBe('1301**********123X');
  });

  it('hides most of a short number', () => {
    expect(maskIdNumber('E1234567')).toBe('E1****67');
    expect(maskIdNumber('123456')).toBe('*****6');
  });
});
