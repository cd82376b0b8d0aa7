// Marks on their way to the server. A click is written to localStorage first, with its clientId and
// its client time, then sent; when the network or the server cannot be reached it stays queued and is
// sent again (in click order) once the socket is back and the clock offset measured, so the server
// places it at the click and flags it delayed. A retry of the same clientId is answered with the same
// mark (docs/api.md): a response lost on the way never doubles a mark. A mark the server refuses
// (session stopped, stage during a recess) leaves the queue and is reported, never retried blindly.
import { ApiError, post } from '../api.ts';
import { newId } from '../ids.ts';
import { clock } from './clock.svelte.ts';
import type { EffectiveMark } from './types.ts';

const STORAGE_KEY = 'hr.console.queue';
const RETRY_MS = 3_000;

export interface QueuedMark {
  clientId: string;
  sessionId: string;
  item: number | null;
  note: string | null;
  /** ISO UTC ms, this browser's clock at the click. */
  clientTime: string;
  /** The offset known at the click (used when none is measured at delivery). */
  clockOffsetMs: number | null;
  attempts: number;
}

export interface Rejected {
  entry: QueuedMark;
  code: string;
  message: string;
}

function readQueue(): QueuedMark[] {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    const list = raw ? (JSON.parse(raw) as QueuedMark[]) : [];
    return Array.isArray(list) ? list.filter((e) => typeof e?.clientId === 'string' && typeof e.sessionId === 'string') : [];
  } catch {
    return [];
  }
}

/** Network failures and server trouble are retried; anything else is the server's answer. */
const retryable = (e: unknown) => !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.status === 429 || e.status === 401;

class MarkQueue {
  items = $state<QueuedMark[]>(readQueue());
  rejected = $state<Rejected[]>([]);
  sending = $state(false);
  /** Called with every mark the server accepted (new or the same one again). */
  onDelivered: (sessionId: string, mark: EffectiveMark, entry: QueuedMark) => void = () => {};
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor() {
    globalThis.addEventListener?.('storage', (e) => {
      if (e.key === STORAGE_KEY) this.items = readQueue();
    });
  }

  /** Queues a mark at this instant and tries to send it at once. */
  add(sessionId: string, mark: { item: number } | { note: string }): QueuedMark {
    const entry: QueuedMark = {
      clientId: newId(),
      sessionId,
      item: 'item' in mark ? mark.item : null,
      note: 'note' in mark ? mark.note : null,
      clientTime: new Date().toISOString(),
      clockOffsetMs: clock.offsetMs,
      attempts: 0,
    };
    this.items = [...this.items, entry];
    this.save();
    void this.flush();
    return entry;
  }

  pendingFor(sessionId: string): QueuedMark[] {
    return this.items.filter((e) => e.sessionId === sessionId);
  }

  /** Retries every few seconds while something waits; returns the stop. */
  keepTrying(): () => void {
    const onOnline = () => void this.flush();
    globalThis.addEventListener('online', onOnline);
    this.timer ??= setInterval(() => {
      if (this.items.length) void this.flush();
    }, RETRY_MS);
    return () => {
      globalThis.removeEventListener('online', onOnline);
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    };
  }

  dismissRejected(clientId: string): void {
    this.rejected = this.rejected.filter((r) => r.entry.clientId !== clientId);
  }

  /** Sends what waits, oldest first; stops at the first network failure to keep the order. */
  async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        const entry = this.items[0];
        if (!entry) return;
        const offset = clock.offsetMs ?? entry.clockOffsetMs;
        try {
          const mark = await post<EffectiveMark>(`/api/sessions/${encodeURIComponent(entry.sessionId)}/marks`, {
            ...(entry.item !== null ? { item: entry.item } : { note: entry.note }),
            clientId: entry.clientId,
            clientTime: entry.clientTime,
            ...(offset === null ? {} : { clockOffsetMs: offset }),
          });
          this.remove(entry.clientId);
          this.onDelivered(entry.sessionId, mark, entry);
        } catch (e) {
          if (retryable(e)) {
            entry.attempts++;
            this.save();
            return;
          }
          this.remove(entry.clientId);
          const err = e as ApiError;
          this.rejected = [...this.rejected, { entry, code: err.code, message: err.message }];
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private remove(clientId: string): void {
    this.items = this.items.filter((e) => e.clientId !== clientId);
    this.save();
  }

  private save(): void {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.items));
    } catch {
      // storage full or disabled: the queue still lives in this page
    }
  }
}

export const markQueue = new MarkQueue();
