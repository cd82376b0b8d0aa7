import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskMonitor, levelOf, readFreeSpace, type DiskStatus } from '../../../server/src/recording/disk-monitor.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

const GB = 1024 ** 3;
const thresholds = { warningBytes: 20 * GB, refuseBytes: 10 * GB, floorBytes: 2 * GB };

describe('disk levels', () => {
  it('maps free space to ok, warning, refuse and floor at the thresholds', () => {
    expect(levelOf(25 * GB, thresholds)).toBe('ok');
    expect(levelOf(20 * GB, thresholds)).toBe('ok');
    expect(levelOf(20 * GB - 1, thresholds)).toBe('warning');
    expect(levelOf(10 * GB - 1, thresholds)).toBe('refuse');
    expect(levelOf(2 * GB - 1, thresholds)).toBe('floor');
  });

  it('reports each change of level once, as free space falls and recovers', async () => {
    const free = [30, 25, 15, 14, 5, 1, 1, 30].map((g) => g * GB);
    let i = 0;
    const monitor = new DiskMonitor('/data', thresholds, silentLogger(), async () => ({ freeBytes: free[i++]!, totalBytes: 100 * GB }));
    const seen: DiskStatus['level'][] = [];
    monitor.on('level', (s) => seen.push(s.level));
    for (let n = 0; n < free.length; n++) await monitor.check();
    expect(seen).toEqual(['ok', 'warning', 'refuse', 'floor', 'ok']);
  });

  it('refuses thresholds in the wrong order', () => {
    expect(() => new DiskMonitor('/data', { warningBytes: 1, refuseBytes: 2, floorBytes: 0 }, silentLogger())).toThrow(TypeError);
  });

  it('reads the real free space of a directory', async () => {
    const { freeBytes, totalBytes } = await readFreeSpace(mkdtempSync(join(tmpdir(), 'hr-disk-')));
    expect(freeBytes).toBeGreaterThan(0);
    expect(totalBytes).toBeGreaterThanOrEqual(freeBytes);
  });
});
