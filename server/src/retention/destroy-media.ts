import { chmod, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

export interface DestroyOutcome {
  removed: string[];
  /** Already gone before the destruction (reported, not an error). */
  absent: string[];
  failed: { file: string; error: string }[];
}

/**
 * The product's only deletion of evidence: removes the given media files (paths relative to
 * DATA_DIR, from the index, never from a client) of a session whose destruction was approved. Sealed
 * directories are read-only (0555): each is opened for the unlink and closed again. The caller has
 * written the destruction record first and audits the outcome.
 */
export async function destroyMediaFiles(dataDir: string, files: readonly string[]): Promise<DestroyOutcome> {
  const root = resolve(dataDir);
  const outcome: DestroyOutcome = { removed: [], absent: [], failed: [] };
  const dirs = new Map<string, number>();
  for (const file of files) {
    const path = resolve(root, file);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      outcome.failed.push({ file, error: 'outside the data directory' });
      continue;
    }
    const dir = dirname(path);
    try {
      if (!dirs.has(dir)) {
        dirs.set(dir, (await stat(dir)).mode & 0o7777);
        await chmod(dir, 0o755);
      }
      await unlink(path);
      outcome.removed.push(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') outcome.absent.push(file);
      else outcome.failed.push({ file, error: (err as Error).message });
    }
  }
  for (const [dir, mode] of dirs) await chmod(dir, mode).catch(() => undefined);
  return outcome;
}
