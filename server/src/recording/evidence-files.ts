import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';

/** A write into a sealed session was attempted: refused whatever the file modes (root ignores them). */
export class SealedEvidenceError extends Error {
  override readonly name = 'SealedEvidenceError';
}

/**
 * Refuses any write under a sealed session directory (one holding its manifest): the session
 * directory is the path's directory or the one above it (`<session>/<camera>/<file>`).
 */
export function assertNotSealed(path: string): void {
  for (const dir of [dirname(path), dirname(dirname(path))]) {
    if (existsSync(join(dir, MANIFEST_FILE))) throw new SealedEvidenceError(`${path} belongs to a sealed session: evidence is never rewritten`);
  }
}

const SHANGHAI_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });

/** `YYYY-MM-DD` of an instant in Asia/Shanghai: the day a hearing took place for its participants. */
export const shanghaiDate = (at: Date): string => SHANGHAI_DATE.format(at);

/** `DATA_DIR/recordings/<yyyy-mm-dd>/<session>/`, dated by the session's start in Beijing time. */
export function sessionDir(dataDir: string, sessionStartedAt: Date, sessionId: string): string {
  return join(dataDir, 'recordings', shanghaiDate(sessionStartedAt), sessionId);
}

/** `DATA_DIR/recordings/<yyyy-mm-dd>/<session>/<camera>/`. */
export function sessionCameraDir(dataDir: string, sessionStartedAt: Date, sessionId: string, cameraId: string): string {
  return join(sessionDir(dataDir, sessionStartedAt, sessionId), cameraId);
}

/** SHA-256 of a file, read as a stream. */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Moves a closed spool segment into its session directory without rewriting it: a rename on the
 * same file system (the normal case), else a copy whose hash must equal the original's before the
 * spool copy is removed. The directory entry is flushed so a crash cannot lose the move.
 */
export async function adoptFile(spoolFile: string, destination: string, expectedSha256: string): Promise<void> {
  assertNotSealed(destination);
  if (existsSync(destination)) throw new SealedEvidenceError(`${destination} exists already: evidence is never overwritten`);
  await mkdir(dirname(destination), { recursive: true });
  try {
    await rename(spoolFile, destination);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await copyFile(spoolFile, destination);
    await fsyncPath(destination);
    const { sha256 } = await hashFile(destination);
    if (sha256 !== expectedSha256) {
      await unlink(destination);
      throw new Error(`copy of ${basename(spoolFile)} does not match its hash; the spool copy is kept`);
    }
    await unlink(spoolFile);
  }
  await fsyncPath(dirname(destination));
}

/** Writes a file through a temporary name and a rename, so no reader ever sees half of it. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  assertNotSealed(path);
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}-${Date.now()}`;
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await fsyncPath(dirname(path));
}

/** Makes sealed evidence read-only: files 0444, their directories 0555. */
export async function makeReadOnly(files: string[]): Promise<void> {
  const dirs = new Set<string>();
  for (const file of files) {
    await chmod(file, 0o444);
    dirs.add(dirname(file));
  }
  for (const dir of dirs) await chmod(dir, 0o555);
}

/** Whether a file's mode still allows writing by anyone. */
export async function isWritable(path: string): Promise<boolean> {
  return ((await stat(path)).mode & 0o222) !== 0;
}

/**
 * Files in a session's directory that the index does not list (a crash between moving a segment in
 * and writing its row). They are reported, never deleted: evidence is only ever added.
 */
export async function unindexedFiles(dataDir: string, sessionDirectory: string, indexed: ReadonlySet<string>): Promise<string[]> {
  const found: string[] = [];
  let cameras: string[];
  try {
    cameras = (await readdir(sessionDirectory, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return found;
  }
  for (const camera of cameras) {
    for (const entry of await readdir(join(sessionDirectory, camera), { withFileTypes: true })) {
      const file = relative(dataDir, join(sessionDirectory, camera, entry.name));
      if (entry.isFile() && !indexed.has(file)) found.push(file);
    }
  }
  return found.sort();
}
