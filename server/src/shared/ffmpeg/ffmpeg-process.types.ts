import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../logger.ts';

export interface FfmpegProcessOptions {
  /** Arguments after the binary, as an array: never joined into a shell string. */
  args: readonly string[];
  /** `ffmpeg` (default) or `ffprobe`, resolved through ffmpeg-binary.ts, or an explicit path. */
  binary?: 'ffmpeg' | 'ffprobe' | { path: string };
  log: Logger;
  /** Short label for logs and errors, e.g. 'live-encoder'. */
  name?: string;
  /** stdin: 'pipe' to feed raw frames, 'ignore' otherwise (default). */
  stdin?: 'pipe' | 'ignore';
  /** stdout: 'pipe' (default) or 'ignore'. */
  stdout?: 'pipe' | 'ignore';
  /** Number of extra output pipes after fd 2 (fd 3, 4, …), e.g. `-f h264 pipe:3`. */
  extraPipes?: number;
  /** Time between SIGINT and SIGKILL on close(). Default 3000 ms. */
  stopTimeoutMs?: number;
  /** Lines of stderr kept for error messages. Default 50. */
  stderrLines?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface FfmpegProcessEvents {
  /** The child is running (pid known). */
  spawn: [pid: number];
  /** The child could not be started at all (missing binary, spawn error). No `exit` follows. */
  startFailed: [Error];
  /** The child was reaped, whatever the reason. */
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** The child ended on its own (not through close()) with a failure code or a signal. */
  died: [FfmpegExitError];
  /** One line of stderr, as ffmpeg wrote it. */
  stderr: [line: string];
}

export interface FfmpegExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when close() asked for it. */
  requested: boolean;
}

/** An ffmpeg that failed: carries the exit status and the last lines of its stderr. */
export class FfmpegExitError extends Error {
  override readonly name = 'FfmpegExitError';
  constructor(
    readonly label: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: readonly string[],
  ) {
    const last = stderrTail.slice(-5).join(' | ');
    super(`${label} exited with ${signal ? `signal ${signal}` : `code ${code}`}${last ? `: ${last}` : ''}`);
  }
}

export class FfmpegStateError extends Error {
  override readonly name = 'FfmpegStateError';
}

export interface FfmpegStreams {
  stdin: Writable | null;
  stdout: Readable | null;
  /** Extra pipes by index: extra[0] is fd 3. */
  extra: Readable[];
}
