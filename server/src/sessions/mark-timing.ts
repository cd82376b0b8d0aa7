/**
 * Where a mark is placed in time. A mark is placed at the moment the server received it, unless it
 * arrived late (the clerk's browser lost its connection and retried): then it is placed at the
 * clerk's click, read from the client's clock corrected by the offset the client measured over the
 * socket (`clock:ping`). Without a measured offset the client's clock cannot be trusted, so the
 * server time is used.
 */

/** A delivery later than this (after correcting the client's clock) counts as delayed. */
export const DELAY_THRESHOLD_MS = 2000;

export interface MarkTiming {
  effectiveAtMs: number;
  delayed: boolean;
}

/**
 * @param clockOffsetMs server clock minus client clock, as the client measured it; null if unknown
 * @param notBeforeMs a delayed mark is never placed before this (the session's start)
 */
export function placeMark(input: {
  serverTimeMs: number;
  clientTimeMs: number;
  clockOffsetMs: number | null;
  notBeforeMs: number;
}): MarkTiming {
  const { serverTimeMs, clientTimeMs, clockOffsetMs, notBeforeMs } = input;
  if (clockOffsetMs === null) return { effectiveAtMs: serverTimeMs, delayed: false };
  const corrected = clientTimeMs + clockOffsetMs;
  if (serverTimeMs - corrected <= DELAY_THRESHOLD_MS) return { effectiveAtMs: serverTimeMs, delayed: false };
  return { effectiveAtMs: Math.max(corrected, notBeforeMs), delayed: true };
}
