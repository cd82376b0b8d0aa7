import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../logger.ts';
import { ffmpegBinary, ffprobeBinary } from './ffmpeg-binary.ts';
import { childRegistry } from './child-registry.ts';
import {
  FfmpegExitError,
  FfmpegStateError,
  type FfmpegExitInfo,
  type FfmpegProcessEvents,
  type FfmpegProcessOptions,
} from './ffmpeg-process.types.ts';

export * from './ffmpeg-process.types.ts';

/** `rtsp://user:secret@host/…` → `rtsp://***@host/…`, and an RTMP push key `?key=…` → `?key=***`, in any text. */
export const redactUrlCredentials = (text: string): string =>
  text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@').replace(/([?&]key=)[^&\s]+/gi, '$1***');

const SETPRIV = '/usr/bin/setpriv';
let setprivChecked: boolean | null = null;
function haveSetpriv(): boolean {
  if (setprivChecked === null) {
    try {
      accessSync(SETPRIV, constants.X_OK);
      setprivChecked = true;
    } catch {
      setprivChecked = false;
    }
  }
  return setprivChecked;
}

/**
 * THE wrapper for every ffmpeg/ffprobe child. The child runs in its own process group (so a stop
 * reaches anything it forks) under `setpriv --pdeathsig KILL` (so it dies with the server even on
 * SIGKILL, which Node cannot intercept). Stop is SIGINT to the group — ffmpeg then finishes its
 * outputs — and SIGKILL after a timeout.
 */
export class FfmpegProcess extends EventEmitter<FfmpegProcessEvents> {
  readonly label: string;
  private readonly log: Logger;
  private readonly opts: FfmpegProcessOptions;
  private child: ChildProcess | null = null;
  private readonly ring: string[] = [];
  private closing = false;
  private exitInfo: FfmpegExitInfo | null = null;
  private readonly exited: Promise<FfmpegExitInfo>;
  private resolveExited!: (info: FfmpegExitInfo) => void;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(options: FfmpegProcessOptions) {
    super();
    if (!Array.isArray(options.args)) throw new TypeError('FfmpegProcess: args must be an array');
    this.opts = options;
    this.label = options.name ?? (typeof options.binary === 'string' ? options.binary : 'ffmpeg');
    this.log = options.log.child({ ffmpeg: this.label });
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== null && this.exitInfo === null && this.child.pid !== undefined;
  }
  get stdin(): Writable | null {
    return this.child?.stdin ?? null;
  }
  get stdout(): Readable | null {
    return this.child?.stdout ?? null;
  }
  /** Extra output pipe: `pipe(3)` is fd 3. */
  pipe(fd: number): Readable {
    const stream = this.child?.stdio[fd];
    if (!stream || !('read' in stream)) throw new FfmpegStateError(`${this.label}: no pipe on fd ${fd}`);
    return stream as Readable;
  }
  /** The last lines of stderr (bounded). */
  stderrTail(): string[] {
    return [...this.ring];
  }
  /** Resolves when the child is reaped (or failed to start). */
  done(): Promise<FfmpegExitInfo> {
    return this.exited;
  }

  /** Starts the child. Throws FfmpegStateError when called twice. Start failures arrive as `startFailed`. */
  start(): this {
    if (this.child || this.exitInfo) throw new FfmpegStateError(`${this.label}: already started`);
    let path: string;
    try {
      const b = this.opts.binary ?? 'ffmpeg';
      path = typeof b === 'object' ? b.path : b === 'ffprobe' ? ffprobeBinary().path : ffmpegBinary().path;
      // setpriv would report a missing binary as exit 127 later: check now, so it is a start failure.
      accessSync(path, constants.X_OK);
    } catch (err) {
      this.failStart(err instanceof Error ? err : new Error(String(err)));
      return this;
    }
    const extra = this.opts.extraPipes ?? 0;
    const stdio: StdioOptions = [this.opts.stdin ?? 'ignore', this.opts.stdout ?? 'pipe', 'pipe'];
    for (let i = 0; i < extra; i++) stdio.push('pipe');
    let cmd = path;
    let argv = [...this.opts.args];
    if (haveSetpriv()) {
      argv = ['--pdeathsig', 'KILL', path, ...argv];
      cmd = SETPRIV;
    } else {
      this.log.warn('setpriv not found: ffmpeg children will not die with the server if it is killed');
    }
    const child = spawn(cmd, argv, {
      stdio,
      detached: true,
      env: this.opts.env ?? process.env,
      cwd: this.opts.cwd,
      windowsHide: true,
    });
    this.child = child;
    child.once('error', (err) => {
      // 'error' without a pid is a spawn failure; with a pid it is a kill/IPC error, only logged.
      if (child.pid === undefined) this.failStart(err);
      else this.log.warn({ err }, 'child process error');
    });
    child.once('spawn', () => {
      childRegistry()?.add(child.pid!);
      child.once('exit', () => childRegistry()?.remove(child.pid!));
      this.log.debug({ pid: child.pid, args: this.opts.args.map(redactUrlCredentials) }, 'spawned');
      this.fire('spawn', child.pid!);
    });
    // Pipes must never throw EPIPE at us when the child dies first.
    child.stdin?.on('error', (err) => this.log.debug({ err }, 'stdin error'));
    for (let fd = 1; fd < child.stdio.length; fd++) child.stdio[fd]?.on('error', (err) => this.log.debug({ err, fd }, 'pipe error'));
    let partial = '';
    const max = this.opts.stderrLines ?? 50;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const parts = (partial + chunk).split(/\r\n|\r|\n/);
      partial = parts.pop() ?? '';
      if (partial.length > 4096) partial = partial.slice(-4096);
      for (const raw of parts) {
        if (!raw) continue;
        // ffmpeg repeats its input URL in errors: keep camera credentials out of messages and logs.
        const line = redactUrlCredentials(raw);
        this.ring.push(line);
        if (this.ring.length > max) this.ring.shift();
        if (this.listenerCount('stderr') > 0) this.fire('stderr', line);
      }
    });
    child.once('exit', (code, signal) => {
      if (partial) {
        this.ring.push(redactUrlCredentials(partial));
        if (this.ring.length > max) this.ring.shift();
      }
      if (this.killTimer) clearTimeout(this.killTimer);
      // Anything else left in the group (should be nothing) goes too.
      this.killGroup('SIGKILL');
      const info: FfmpegExitInfo = { code, signal, requested: this.closing };
      this.exitInfo = info;
      this.log.debug({ code, signal, requested: this.closing }, 'exited');
      this.fire('exit', code, signal);
      if (!this.closing && (code !== 0 || signal)) {
        this.fire('died', new FfmpegExitError(this.label, code, signal, this.ring));
      }
      this.resolveExited(info);
    });
    return this;
  }

  /** An error describing the last exit, with the stderr tail. */
  exitError(): FfmpegExitError {
    return new FfmpegExitError(this.label, this.exitInfo?.code ?? null, this.exitInfo?.signal ?? null, this.ring);
  }

  /**
   * SIGINT to the process group, SIGKILL after `stopTimeoutMs`; resolves once the child is reaped.
   * Safe to call twice and before start().
   */
  close(): Promise<FfmpegExitInfo> {
    if (!this.child || this.exitInfo) {
      if (!this.child && !this.exitInfo) {
        this.closing = true;
        this.exitInfo = { code: null, signal: null, requested: true };
        this.resolveExited(this.exitInfo);
      }
      return this.exited;
    }
    if (this.closing) return this.exited;
    this.closing = true;
    this.child.stdin?.end();
    this.killGroup('SIGINT');
    this.killTimer = setTimeout(() => {
      this.log.warn({ pid: this.child?.pid }, 'did not stop after SIGINT, killing');
      this.killGroup('SIGKILL');
    }, this.opts.stopTimeoutMs ?? 3000);
    this.killTimer.unref();
    return this.exited;
  }

  private killGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: already gone
    }
  }

  private failStart(err: Error): void {
    if (this.exitInfo) return;
    this.exitInfo = { code: null, signal: null, requested: false };
    this.log.error({ err }, 'failed to start');
    this.fire('startFailed', err);
    this.resolveExited(this.exitInfo);
  }

  /** Calls every listener; one that throws is logged and does not stop the others or the child. */
  private fire<K extends keyof FfmpegProcessEvents>(event: K, ...args: FfmpegProcessEvents[K]): void {
    for (const listener of this.rawListeners(event as string)) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'listener threw');
      }
    }
  }
}

/** Runs ffmpeg/ffprobe to completion and collects stdout; rejects with FfmpegExitError on failure. */
export async function runFfmpeg(
  options: Omit<FfmpegProcessOptions, 'stdout' | 'stdin'> & { timeoutMs?: number; /** Piped to ffmpeg's stdin (`-i pipe:0`). */ input?: Readable },
): Promise<{ stdout: Buffer; stderr: string[] }> {
  const proc = new FfmpegProcess({ ...options, stdout: 'pipe', stdin: options.input ? 'pipe' : 'ignore' });
  const chunks: Buffer[] = [];
  let startError: Error | null = null;
  proc.once('startFailed', (err) => (startError = err));
  proc.start();
  if (options.input && proc.stdin) {
    // A read error ends ffmpeg's input early: it then fails on a truncated stream, and says so.
    options.input.on('error', (err) => {
      options.log.warn({ err }, 'ffmpeg input stream failed');
      proc.stdin?.destroy();
    });
    options.input.pipe(proc.stdin);
  }
  proc.stdout?.on('data', (c: Buffer) => chunks.push(c));
  const timer = options.timeoutMs ? setTimeout(() => void proc.close(), options.timeoutMs) : null;
  const info = await proc.done();
  if (timer) clearTimeout(timer);
  // Let the stdout pipe drain: 'exit' can precede the last 'data'.
  if (proc.stdout && !proc.stdout.readableEnded) {
    await new Promise<void>((resolve) => {
      proc.stdout!.once('close', resolve);
      setTimeout(resolve, 1000).unref();
    });
  }
  if (startError) throw startError;
  if (info.requested || info.code !== 0) throw proc.exitError();
  return { stdout: Buffer.concat(chunks), stderr: proc.stderrTail() };
}
