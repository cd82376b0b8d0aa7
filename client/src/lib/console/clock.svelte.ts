// The offset between this browser's clock and the server's, measured over the socket with
// `clock:ping` (server/src/realtime/events.ts): a few round trips, the one with the shortest round
// trip wins, offset = server time − the middle of that round trip. Marks carry it as clockOffsetMs so
// the server can place a late delivery at the click. The last measurement is kept in localStorage:
// a page reopened while the network is down still knows it.
import { live } from '../live.svelte.ts';

const STORAGE_KEY = 'hr.console.clock';
const SAMPLES = 5;
/** A kept measurement older than this is not used. */
const STALE_MS = 12 * 3600_000;

interface Stored {
  offsetMs: number;
  rttMs: number;
  measuredAt: number;
}

function readStored(): Stored | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<Stored>;
    if (typeof v.offsetMs !== 'number' || typeof v.measuredAt !== 'number' || typeof v.rttMs !== 'number') return null;
    if (Date.now() - v.measuredAt > STALE_MS) return null;
    return { offsetMs: v.offsetMs, rttMs: v.rttMs, measuredAt: v.measuredAt };
  } catch {
    return null;
  }
}

class ClockOffset {
  /** Server clock minus this browser's clock, ms; null until measured once. */
  offsetMs = $state<number | null>(null);
  rttMs = $state<number | null>(null);
  measuredAt = $state<number | null>(null);
  private measuring: Promise<void> | null = null;

  constructor() {
    const stored = readStored();
    if (stored) {
      this.offsetMs = stored.offsetMs;
      this.rttMs = stored.rttMs;
      this.measuredAt = stored.measuredAt;
    }
  }

  /** The server's clock now, as well as this browser can tell. */
  serverNow(): number {
    return Date.now() + (this.offsetMs ?? 0);
  }

  /** Measures again (one measurement at a time); leaves the last value when the socket is down. */
  measure(): Promise<void> {
    this.measuring ??= this.run().finally(() => (this.measuring = null));
    return this.measuring;
  }

  private async run(): Promise<void> {
    let best: { offsetMs: number; rttMs: number } | null = null;
    for (let i = 0; i < SAMPLES; i++) {
      const sent = Date.now();
      const t0 = performance.now();
      const server = await live.serverTime();
      const rtt = performance.now() - t0;
      if (server === null) break;
      const offset = Math.round(server - (sent + rtt / 2));
      if (!best || rtt < best.rttMs) best = { offsetMs: offset, rttMs: Math.round(rtt) };
    }
    if (!best) return;
    this.offsetMs = best.offsetMs;
    this.rttMs = best.rttMs;
    this.measuredAt = Date.now();
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({ offsetMs: best.offsetMs, rttMs: best.rttMs, measuredAt: this.measuredAt }));
    } catch {
      // kept for this page only
    }
  }
}

export const clock = new ClockOffset();
