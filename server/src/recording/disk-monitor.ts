import { EventEmitter } from 'node:events';
import { statfs } from 'node:fs/promises';
import type { Logger } from '../shared/logger.ts';

export type DiskLevel = 'ok' | 'warning' | 'refuse' | 'floor';

export interface DiskThresholds {
  /** Below this many free bytes: alarm. */
  warningBytes: number;
  /** Below this: new sessions are refused. */
  refuseBytes: number;
  /** Below this: running recordings stop cleanly with an interruption. Nothing is ever deleted. */
  floorBytes: number;
}

export interface DiskStatus {
  level: DiskLevel;
  freeBytes: number;
  totalBytes: number;
  at: string;
}

export type FreeSpaceReader = (path: string) => Promise<{ freeBytes: number; totalBytes: number }>;

export const readFreeSpace: FreeSpaceReader = async (path) => {
  const stats = await statfs(path);
  // bavail: what an unprivileged writer may still use, the honest figure for "free".
  return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
};

export function levelOf(freeBytes: number, thresholds: DiskThresholds): DiskLevel {
  if (freeBytes < thresholds.floorBytes) return 'floor';
  if (freeBytes < thresholds.refuseBytes) return 'refuse';
  if (freeBytes < thresholds.warningBytes) return 'warning';
  return 'ok';
}

/**
 * Watches the free space of the data directory and reports when its level changes. It never
 * deletes anything to make room: a full disk stops new sessions and raises alarms instead.
 */
export class DiskMonitor extends EventEmitter<{ level: [DiskStatus] }> {
  private timer: NodeJS.Timeout | undefined;
  private last: DiskStatus | null = null;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly thresholds: DiskThresholds,
    private readonly log: Logger,
    private readonly read: FreeSpaceReader = readFreeSpace,
  ) {
    super();
    if (!(thresholds.floorBytes <= thresholds.refuseBytes && thresholds.refuseBytes <= thresholds.warningBytes)) {
      throw new TypeError('DiskMonitor: thresholds must satisfy floor <= refuse <= warning');
    }
  }

  get status(): DiskStatus | null {
    return this.last;
  }

  start(intervalMs: number): void {
    const tick = () => {
      void this.check().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, intervalMs).unref();
      });
    };
    tick();
  }

  async check(): Promise<DiskStatus> {
    const { freeBytes, totalBytes } = await this.read(this.path);
    const status: DiskStatus = { level: levelOf(freeBytes, this.thresholds), freeBytes, totalBytes, at: new Date().toISOString() };
    const changed = status.level !== this.last?.level;
    this.last = status;
    if (changed) {
      this.log[status.level === 'ok' ? 'info' : 'warn']({ level: status.level, freeBytes }, 'disk level');
      this.emit('level', status);
    }
    return status;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}
