// Standing alarms of the console: raised at once when a condition starts, kept until the clerk
// acknowledges them (even when the condition has cleared by then, so nothing passes unseen), and
// raised again only when the condition starts anew.
import type { MessageKey } from '../i18n.svelte.ts';

export interface Alarm {
  id: number;
  /** The condition, e.g. `camera-state:h1-wide`. */
  key: string;
  text: MessageKey;
  params: Record<string, string | number>;
  severity: 'error' | 'warning';
  at: number;
  /** The condition is over (the alarm still stands until acknowledged). */
  cleared: boolean;
}

export class Alarms {
  list = $state<Alarm[]>([]);
  private active = new Set<string>();
  private nextId = 1;

  /** The condition `key` holds now; raises an alarm when it did not before. */
  set(key: string, text: MessageKey, params: Record<string, string | number>, severity: Alarm['severity'] = 'error'): void {
    if (this.active.has(key)) return;
    this.active.add(key);
    this.list = [...this.list, { id: this.nextId++, key, text, params, severity, at: Date.now(), cleared: false }];
  }

  /** The condition `key` is over. */
  clear(key: string): void {
    if (!this.active.delete(key)) return;
    for (const alarm of this.list) if (alarm.key === key) alarm.cleared = true;
  }

  /** Keeps only the conditions in `keys` among those starting with `prefix`. */
  clearOthers(prefix: string, keys: Set<string>): void {
    for (const key of [...this.active]) if (key.startsWith(prefix) && !keys.has(key)) this.clear(key);
  }

  acknowledge(id: number): void {
    this.list = this.list.filter((a) => a.id !== id);
  }

  reset(): void {
    this.list = [];
    this.active.clear();
  }
}
