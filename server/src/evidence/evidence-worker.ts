/**
 * The evidence worker: a child process that builds one export package or runs one integrity scrub,
 * so hashing gigabytes and zipping them never runs on the server's event loop (recording, live view
 * and the API stay responsive). It gets a fully resolved job over IPC, needs no database, reports
 * progress and ends with one result message.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { Readable, Transform } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ZipFile } from 'yazl';
import { runFfmpeg } from '../shared/ffmpeg/ffmpeg-process.ts';
import { createLogger } from '../shared/logger.ts';
import { hashFile } from '../recording/evidence-files.ts';
import { SigningKey } from './signing-key.ts';
import type { ExportJob, ScrubFinding, ScrubJob, WorkerJob, WorkerMessage } from './evidence.types.ts';
import { SUMS, SUMS_SIG } from './verifier/verify.mjs';

const log = createLogger(process.env.LOG_LEVEL ?? 'info').child({ mod: 'evidence-worker' });
const send = (message: WorkerMessage) => process.send?.(message);

// A fixed time for zip entries: the package's content, not the moment it was zipped, is the evidence.
const ENTRY_TIME = new Date('2000-01-01T00:00:00Z');

// yazl takes each entry's CRC-32 from buffer-crc32, in JavaScript (~400 MB/s here); zlib's native
// one gives the same values ~10× faster, and an export reads every byte of the evidence through it.
const requireFromYazl = createRequire(createRequire(import.meta.url).resolve('yazl'));
(requireFromYazl('buffer-crc32') as { unsigned: (data: Buffer, previous?: number) => number }).unsigned = (data, previous) => crc32(data, previous ?? 0);

/** Builds the export zip (ZIP64 whenever a size needs it; yazl decides per entry). */
export async function buildPackage(job: ExportJob, progress: (fraction: number) => void): Promise<{ bytes: number; sha256: string }> {
  await mkdir(job.workDir, { recursive: true });
  await mkdir(dirname(job.outFile), { recursive: true });
  const partial = `${job.outFile}.part`;
  const zip = new ZipFile();
  // The package's own hash, taken from the bytes as they are written (no second read of the zip).
  const packageHash = createHash('sha256');
  let packageBytes = 0;
  const written = new Promise<void>((resolve, reject) => {
    const out = createWriteStream(partial, { mode: 0o640 });
    out.on('error', reject);
    out.on('close', resolve);
    zip.outputStream.on('error', reject);
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        packageHash.update(chunk);
        packageBytes += chunk.length;
        done(null, chunk);
      },
    });
    zip.outputStream.pipe(hashing).pipe(out);
  });
  // Awaited at the end; a failure meanwhile must not go unhandled (it ends the job through `failed`).
  let zipError: Error | null = null;
  written.catch((err: Error) => (zipError = err));
  const sums: string[] = [];
  let total = 0;
  for (const copy of job.copies) total += (await stat(copy.source)).size;
  for (const wc of job.workingCopies) for (const s of wc.sources) total += (await stat(s)).size;
  let done = 0;
  let reported = 0;
  const advance = (bytes: number) => {
    done += bytes;
    const fraction = total === 0 ? 1 : Math.min(0.99, done / total);
    if (fraction - reported >= 0.01) {
      reported = fraction;
      progress(fraction);
    }
  };

  /** Adds a file as it is, hashing it on the way. */
  const addFile = async (name: string, source: string, expected?: string) => {
    const { size } = await stat(source);
    const hash = createHash('sha256');
    // Hashes what yazl reads, as it reads it (no flowing mode: a chunk read before yazl gets to this
    // entry would be lost to the zip).
    const through = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        advance(chunk.length);
        done(null, chunk);
      },
    });
    const ended = new Promise<void>((resolve, reject) => {
      through.on('end', resolve);
      through.on('error', reject);
    });
    const input = createReadStream(source, { highWaterMark: 1 << 20 });
    input.on('error', (err) => through.destroy(err));
    input.pipe(through);
    zip.addReadStream(through, name, { mtime: ENTRY_TIME, compress: false, size });
    await ended;
    if (zipError) throw zipError;
    const sha256 = hash.digest('hex');
    if (expected && sha256 !== expected) {
      throw new Error(`${source} no longer matches its recorded SHA-256 (${expected}, now ${sha256}): the stored evidence is damaged; nothing was exported`);
    }
    sums.push(`${sha256}  ${name}`);
  };

  for (const doc of job.documents) {
    const buffer = Buffer.from(doc.content);
    zip.addBuffer(buffer, doc.name, { mtime: ENTRY_TIME });
    sums.push(`${createHash('sha256').update(buffer).digest('hex')}  ${doc.name}`);
  }
  // Working copies are cut by ffmpeg while the zip takes in what comes before them (the originals,
  // then the previous copy): one copy ahead at most, so the work directory holds two at a time.
  const cut = (i: number): Promise<string> => {
    const pending = cutWorkingCopy(job, i);
    pending.catch(() => undefined); // awaited in turn below; a failure before that is not unhandled
    return pending;
  };
  let next = job.workingCopies.length > 0 ? cut(0) : null;
  for (const copy of job.copies) await addFile(copy.name, copy.source, copy.sha256);
  for (const [i, wc] of job.workingCopies.entries()) {
    const out = await next!;
    next = i + 1 < job.workingCopies.length ? cut(i + 1) : null;
    for (const s of wc.sources) advance((await stat(s)).size);
    await addFile(wc.name, out);
    await rm(out, { force: true });
  }
  sums.sort((a, b) => a.slice(66).localeCompare(b.slice(66)));
  const sumsText = `${sums.join('\n')}\n`;
  zip.addBuffer(Buffer.from(sumsText), SUMS, { mtime: ENTRY_TIME });
  zip.addBuffer(SigningKey.open(job.dataDir).sign(sumsText), SUMS_SIG, { mtime: ENTRY_TIME, compress: false });
  zip.end();
  await written;
  await rename(partial, job.outFile);
  await rm(job.workDir, { recursive: true, force: true });
  return { bytes: packageBytes, sha256: packageHash.digest('hex') };
}

/**
 * One working copy, by stream copy with an edit list, no re-encoding (an export is I/O bound, not
 * hours of encoding): the segments are first joined into one MP4 (copy), whose index lets `-ss`
 * before the input seek exactly (MPEG-TS has no index: ffmpeg would land on the next keyframe); the
 * second copy keeps the packets from the keyframe before the mark, flagged to be discarded, and the
 * MP4 muxer writes an edit list so players start on the mark itself.
 * The segments are one MPEG-TS stream cut in pieces: their bytes are piped in one after the other.
 * The concat demuxer would open and probe every segment, which made the join 7× slower than the
 * copy itself (bench:replay); the result is the same file. Where segments are missing (an
 * interruption, a recess) or a new connection restarted the timestamps, ffmpeg closes the jump
 * (MPEG-TS allows discontinuities; any over 0.5 s, the gap the export plan subtracts), so the copy
 * is that much shorter, as the concat demuxer made it.
 */
export async function cutWorkingCopy(job: Pick<ExportJob, 'workDir' | 'workingCopies'>, i: number): Promise<string> {
  const wc = job.workingCopies[i]!;
  const joined = join(job.workDir, `joined-${i}.mp4`);
  await runFfmpeg({
    args: ['-hide_banner', '-y', '-dts_delta_threshold', '0.5', '-f', 'mpegts', '-i', 'pipe:0', '-map', '0:v:0', '-map', '0:a?', '-c', 'copy', joined],
    input: Readable.from(concatenated(wc.sources)),
    log,
    name: 'working-copy-join',
    timeoutMs: 30 * 60_000,
  });
  const firstDurationS = await mediaDuration(wc.sources[0]!);
  const offsetS = Math.max(0, firstDurationS - wc.untilFirstEndS);
  const out = join(job.workDir, `copy-${i}.mp4`);
  await runFfmpeg({
    args: ['-hide_banner', '-nostdin', '-y', '-ss', offsetS.toFixed(3), '-i', joined, '-t', wc.durationS.toFixed(3),
      '-map', '0:v:0', '-map', '0:a?', '-c', 'copy', '-movflags', '+faststart', out],
    log,
    name: 'working-copy',
    timeoutMs: 30 * 60_000,
  });
  await rm(joined, { force: true });
  return out;
}

/** The bytes of the files, one after the other. */
async function* concatenated(files: string[]): AsyncGenerator<Buffer> {
  for (const file of files) for await (const chunk of createReadStream(file)) yield chunk as Buffer;
}

/** A media file's duration in seconds (ffprobe's container duration). */
async function mediaDuration(file: string): Promise<number> {
  const { stdout } = await runFfmpeg({ binary: 'ffprobe', args: ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], log, name: 'ffprobe', timeoutMs: 60_000 });
  const seconds = Number(stdout.toString().trim());
  if (!Number.isFinite(seconds)) throw new Error(`ffprobe gives no duration for ${file}`);
  return seconds;
}

/** Re-hashes stored files against their recorded hashes. Reports; never repairs. */
export async function scrub(job: ScrubJob, progress: (fraction: number) => void): Promise<{ checked: number; findings: ScrubFinding[] }> {
  const findings: ScrubFinding[] = [];
  for (const [i, file] of job.files.entries()) {
    const { sha256: expected, ...owner } = file;
    try {
      const { sha256 } = await hashFile(file.path);
      if (sha256 !== expected) findings.push({ ...owner, problem: 'mismatch', expected, actual: sha256 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      findings.push({ ...owner, problem: code === 'ENOENT' ? 'missing' : 'unreadable', expected, actual: null });
    }
    if (i % 50 === 49) progress((i + 1) / job.files.length);
  }
  return { checked: job.files.length, findings };
}

if (process.env.HR_EVIDENCE_WORKER === '1') {
  const die = (err: unknown) => {
    log.error({ err }, 'evidence worker crashed');
    send({ type: 'failed', error: `the evidence worker crashed: ${(err as Error)?.message ?? String(err)}` });
    process.exitCode = 1;
    process.disconnect?.();
  };
  process.on('uncaughtException', die);
  process.on('unhandledRejection', die);
  process.once('message', (job: WorkerJob) => {
    const progress = (fraction: number) => send({ type: 'progress', progress: fraction });
    const run = job.kind === 'export'
      ? buildPackage(job, progress).then((r) => send({ type: 'exported', ...r }))
      : scrub(job, progress).then((r) => send({ type: 'scrubbed', ...r }));
    run
      .catch((err: unknown) => {
        log.error({ err }, 'evidence job failed');
        send({ type: 'failed', error: (err as Error).message });
      })
      .finally(() => process.disconnect?.());
  });
  // The job is sent only once this listener is in place (a message before it would be lost).
  send({ type: 'ready' });
}
