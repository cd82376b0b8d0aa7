import { lstat, readdir, unlink } from 'node:fs/promises';
import { join, relative, resolve, sep, isAbsolute } from 'node:path';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { SpoolSegment } from './camera-ingest.types.ts';

export interface SpoolOptions {
  /** The spool root: `<dir>/<cameraId>/seg-….ts`. Nothing outside it is ever touched. */
  dir: string;
  log: Logger;
  clock?: Clock;
}

interface Entry {
  segment: SpoolSegment;
  adopted: boolean;
}

/**
 * The index of the ingest's spool: segments by camera, in sequence order. A session start adopts
 * the segments from its pre-roll on (they become evidence and are never expired here); segments no
 * session adopted leave the spool after a while (they were never evidence).
 */
export class Spool {
  readonly dir: string;
  private readonly byCamera = new Map<string, Entry[]>();
  private readonly log: Logger;
  private readonly clock: Clock;

  constructor(options: SpoolOptions) {
    if (!options.dir) throw new TypeError('Spool: dir is required');
    this.dir = resolve(options.dir);
    this.log = options.log.child({ mod: 'spool' });
    this.clock = options.clock ?? systemClock;
  }

  /** Indexes a closed segment (the ingest's `segment` event). A file outside the spool is refused. */
  add(segment: SpoolSegment): void {
    if (!this.inside(segment.file)) throw new TypeError(`Spool: ${segment.file} is not inside ${this.dir}`);
    const list = this.byCamera.get(segment.cameraId) ?? [];
    if (list.some((e) => e.segment.seq === segment.seq)) return;
    list.push({ segment, adopted: false });
    list.sort((a, b) => a.segment.seq - b.segment.seq);
    this.byCamera.set(segment.cameraId, list);
  }

  /** A camera's spool segments, newest first. */
  list(cameraId: string): SpoolSegment[] {
    return (this.byCamera.get(cameraId) ?? []).map((e) => e.segment).reverse();
  }

  isAdopted(cameraId: string, seq: number): boolean {
    return this.byCamera.get(cameraId)?.find((e) => e.segment.seq === seq)?.adopted ?? false;
  }

  /**
   * The segments of a camera whose capture end is after `from` (the pre-roll), oldest first, now
   * marked adopted so that expiry leaves them alone.
   */
  adopt(cameraId: string, from: Date): SpoolSegment[] {
    const fromMs = from.getTime();
    if (!Number.isFinite(fromMs)) throw new TypeError('Spool.adopt: from must be a valid date');
    const out: SpoolSegment[] = [];
    for (const e of this.byCamera.get(cameraId) ?? []) {
      if (Date.parse(e.segment.endedAt) > fromMs) {
        e.adopted = true;
        out.push(e.segment);
      }
    }
    return out;
  }

  /**
   * Deletes unadopted segments that ended more than `olderThanS` ago, and leftovers in the camera
   * folders (quarantined partial tails, files of an earlier run nobody indexed) last modified
   * before then. Returns the deleted paths. Only regular files inside the spool are touched.
   */
  async expire(olderThanS: number): Promise<string[]> {
    if (!(olderThanS >= 0)) throw new TypeError('Spool.expire: olderThanS must be >= 0');
    const cutoff = this.clock.now().getTime() - olderThanS * 1000;
    const deleted: string[] = [];
    const adoptedFiles = new Set<string>();
    const indexed = new Set<string>();
    for (const [cameraId, list] of this.byCamera) {
      const keep: Entry[] = [];
      for (const e of list) {
        indexed.add(e.segment.file);
        if (e.adopted) adoptedFiles.add(e.segment.file);
        if (!e.adopted && Date.parse(e.segment.endedAt) < cutoff && this.inside(e.segment.file)) {
          if (await this.removeFile(e.segment.file)) deleted.push(e.segment.file);
        } else keep.push(e);
      }
      this.byCamera.set(cameraId, keep);
    }
    // Leftovers nobody indexed.
    let cameras: string[] = [];
    try {
      cameras = await readdir(this.dir);
    } catch {
      return deleted;
    }
    for (const cam of cameras) {
      const camDir = join(this.dir, cam);
      const st = await lstat(camDir).catch(() => null);
      if (!st?.isDirectory()) continue;
      for (const name of await readdir(camDir).catch(() => [] as string[])) {
        if (!/^seg-\d{10}\.ts(\.partial)?$/.test(name)) continue;
        const file = join(camDir, name);
        if (indexed.has(file) || adoptedFiles.has(file)) continue;
        const fst = await lstat(file).catch(() => null);
        if (!fst?.isFile() || fst.mtimeMs >= cutoff) continue;
        if (await this.removeFile(file)) deleted.push(file);
      }
    }
    if (deleted.length) this.log.info({ deleted: deleted.length }, 'expired unadopted spool segments');
    return deleted;
  }

  private inside(file: string): boolean {
    const rel = relative(this.dir, resolve(file));
    return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep).length === 2;
  }

  private async removeFile(file: string): Promise<boolean> {
    const st = await lstat(file).catch(() => null);
    if (!st) return false; // already moved (adopted elsewhere) or gone
    if (!st.isFile()) return false;
    await unlink(file);
    return true;
  }
}
