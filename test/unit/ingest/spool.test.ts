import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SpoolSegment } from '../../../server/src/ingest/camera-ingest.types.ts';
import { Spool } from '../../../server/src/ingest/spool.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

const T0 = Date.parse('2026-12-04T08:00:00.000Z');
let root: string;
let clock: ManualClock;
let spool: Spool;

function seg(cameraId: string, seq: number): SpoolSegment {
  const file = join(root, 'spool', cameraId, `seg-${String(seq).padStart(10, '0')}.ts`);
  mkdirSync(join(root, 'spool', cameraId), { recursive: true });
  writeFileSync(file, Buffer.alloc(188, 0x47));
  const start = T0 + seq * 2000;
  return {
    cameraId, seq, file, bytes: 188, sha256: 'x', mediaStartS: seq * 2, mediaEndS: seq * 2 + 2,
    startedAt: new Date(start).toISOString(), endedAt: new Date(start + 2000).toISOString(), timeSource: 'rtcp',
  };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'spool-'));
  clock = new ManualClock(new Date(T0 + 60_000));
  spool = new Spool({ dir: join(root, 'spool'), log: silentLogger(), clock });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('Spool', () => {
  it('lists a camera newest first, other cameras apart', () => {
    for (const s of [0, 2, 1].map((n) => seg('cam-a', n))) spool.add(s);
    spool.add(seg('cam-b', 5));
    expect(spool.list('cam-a').map((s) => s.seq)).toEqual([2, 1, 0]);
    expect(spool.list('cam-b').map((s) => s.seq)).toEqual([5]);
    expect(spool.list('nobody')).toEqual([]);
  });

  it('adopts the segments whose capture end is after the pre-roll instant, oldest first', () => {
    for (let n = 0; n < 10; n++) spool.add(seg('cam-a', n));
    // Segment 4 spans 08:00:08–08:00:10; an instant inside it adopts it.
    const adopted = spool.adopt('cam-a', new Date(T0 + 9000));
    expect(adopted.map((s) => s.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(spool.isAdopted('cam-a', 3)).toBe(false);
    expect(spool.isAdopted('cam-a', 4)).toBe(true);
    // Exactly at a segment end: that segment is not after it.
    expect(spool.adopt('cam-a', new Date(T0 + 20_000)).map((s) => s.seq)).toEqual([]);
  });

  it('expires unadopted segments older than the limit and never adopted ones', async () => {
    const all = Array.from({ length: 10 }, (_, n) => seg('cam-a', n));
    for (const s of all) spool.add(s);
    spool.adopt('cam-a', new Date(T0 + 3000)); // 1..9 adopted
    clock.set(new Date(T0 + 20_000 + 30_000));
    const deleted = await spool.expire(30);
    expect(deleted).toEqual([all[0]!.file]);
    expect(existsSync(all[0]!.file)).toBe(false);
    for (const s of all.slice(1)) expect(existsSync(s.file)).toBe(true);
  });

  it('expires by capture end with a fixed clock: a segment ending exactly at the cutoff stays', async () => {
    const all = Array.from({ length: 5 }, (_, n) => seg('cam-a', n));
    for (const s of all) spool.add(s);
    clock.set(new Date(T0 + 6000 + 10_000)); // cutoff = end of segment 2
    const deleted = await spool.expire(10);
    expect(deleted.sort()).toEqual([all[0]!.file, all[1]!.file]);
    expect(spool.list('cam-a').map((s) => s.seq)).toEqual([4, 3, 2]);
  });

  it('removes old leftovers (partial tails) but never files outside the spool or of another name', async () => {
    const camDir = join(root, 'spool', 'cam-a');
    mkdirSync(camDir, { recursive: true });
    const partial = join(camDir, 'seg-0000000007.ts.partial');
    const note = join(camDir, 'notes.txt');
    const outside = join(root, 'evidence.ts');
    for (const f of [partial, note, outside]) {
      writeFileSync(f, 'x');
      utimesSync(f, new Date(T0 - 3600_000), new Date(T0 - 3600_000));
    }
    const fresh = join(camDir, 'seg-0000000008.ts');
    writeFileSync(fresh, 'x'); // mtime now (real clock), newer than the cutoff below
    clock.set(new Date(T0));
    const deleted = await spool.expire(60);
    expect(deleted).toEqual([partial]);
    expect(existsSync(note)).toBe(true);
    expect(existsSync(outside)).toBe(true);
    expect(existsSync(fresh)).toBe(true);
    expect(() => spool.add({ ...seg('cam-a', 1), file: outside })).toThrow(TypeError);
  });
});
