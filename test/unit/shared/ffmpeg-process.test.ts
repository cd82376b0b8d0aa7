import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ffmpegBinary, rtspTimeoutArgs } from '../../../server/src/shared/ffmpeg/ffmpeg-binary.ts';
import { FfmpegExitError, FfmpegProcess, runFfmpeg } from '../../../server/src/shared/ffmpeg/ffmpeg-process.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

const log = silentLogger();
const BUNDLED = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;

/** Pids in a process group (empty when the group is gone). */
function groupMembers(pgid: number): number[] {
  try {
    return execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Resolves once `pid` has left the process table (checked on an interval, bounded). */
async function gone(pid: number, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

async function groupGone(pgid: number, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (groupMembers(pgid).length === 0) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

const longRunning = ['-hide_banner', '-nostats', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=25', '-f', 'null', '-'];

describe('ffmpeg binary resolution', () => {
  it('prefers FFMPEG_PATH and picks the RTSP timeout flag by version', () => {
    const system = ffmpegBinary();
    expect(system.avformatMajor).toBeGreaterThanOrEqual(59);
    expect(rtspTimeoutArgs(5_000_000, system)).toEqual(['-timeout', '5000000']);
    const before = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = BUNDLED;
    try {
      const bundled = ffmpegBinary();
      expect(bundled.path).toBe(BUNDLED);
      expect(bundled.source).toBe('env');
      expect(bundled.major).toBe(4);
      expect(rtspTimeoutArgs(5_000_000)).toEqual(['-stimeout', '5000000']);
    } finally {
      if (before === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = before;
    }
  });
});

describe('FfmpegProcess', () => {
  it('reports spawn and a clean exit, and reads an extra output pipe (fd 3)', async () => {
    const p = new FfmpegProcess({
      log,
      args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=white:size=16x16', '-frames:v', '1', '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:3'],
      extraPipes: 1,
    });
    const events: string[] = [];
    p.on('spawn', () => events.push('spawn'));
    p.on('exit', (code) => events.push(`exit ${code}`));
    p.on('died', () => events.push('died'));
    p.start();
    const chunks: Buffer[] = [];
    p.pipe(3).on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise((r) => p.pipe(3).once('close', r));
    const info = await p.done();
    await closed;
    expect(info).toEqual({ code: 0, signal: null, requested: false });
    expect(events).toEqual(['spawn', 'exit 0']);
    const frame = Buffer.concat(chunks);
    expect(frame.length).toBe(256);
    expect(frame.every((v) => v === 255)).toBe(true);
  });

  it('distinguishes failing to start from dying later', async () => {
    const missing = new FfmpegProcess({ log, binary: { path: '/nonexistent/ffmpeg' }, args: ['-version'] });
    const seen: string[] = [];
    missing.on('startFailed', () => seen.push('startFailed'));
    missing.on('exit', () => seen.push('exit'));
    missing.start();
    await missing.done();
    expect(seen).toEqual(['startFailed']);

    const bad = new FfmpegProcess({ log, args: ['-hide_banner', '-i', '/nonexistent/input.mp4', '-f', 'null', '-'] });
    const died = new Promise<FfmpegExitError>((r) => bad.once('died', r));
    bad.on('startFailed', () => seen.push('bad startFailed'));
    bad.start();
    const err = await died;
    expect(seen).toEqual(['startFailed']);
    expect(err).toBeInstanceOf(FfmpegExitError);
    expect(err.code).not.toBe(0);
    expect(err.message).toContain('No such file or directory');
  });

  it('keeps only the last lines of stderr', async () => {
    const p = new FfmpegProcess({ log, stderrLines: 10, args: ['-hide_banner', '-loglevel', 'debug', '-f', 'lavfi', '-i', 'testsrc=size=32x32', '-frames:v', '5', '-f', 'null', '-'] });
    let lines = 0;
    p.on('stderr', () => lines++);
    p.start();
    await p.done();
    expect(lines).toBeGreaterThan(10);
    expect(p.stderrTail()).toHaveLength(10);
  });

  it('a listener that throws is logged and does not break the process', async () => {
    const p = new FfmpegProcess({ log, args: ['-hide_banner', '-f', 'lavfi', '-i', 'testsrc', '-frames:v', '1', '-f', 'null', '-'] });
    const after: number[] = [];
    p.on('spawn', () => {
      throw new Error('boom');
    });
    p.on('spawn', (pid) => after.push(pid));
    p.start();
    const info = await p.done();
    expect(after).toHaveLength(1);
    expect(info.code).toBe(0);
  });

  it('close() stops with SIGINT, resolves when reaped, is safe twice, and leaves no process in the group', async () => {
    const p = new FfmpegProcess({ log, args: longRunning });
    const spawned = new Promise<number>((r) => p.once('spawn', r));
    // Signal handlers are installed once ffmpeg set up its output: wait for that, not for a timer.
    const running = new Promise<void>((r) => p.on('stderr', (line) => line.startsWith('Output #0') && r()));
    let died = false;
    p.on('died', () => (died = true));
    p.start();
    const pid = await spawned;
    await running;
    expect(groupMembers(pid)).toContain(pid);
    const [a, b] = await Promise.all([p.close(), p.close()]);
    expect(a).toBe(b);
    expect(a.requested).toBe(true);
    // ffmpeg traps SIGINT and exits on its own (code 255), no SIGKILL needed.
    expect(a.signal).toBeNull();
    expect(died).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(groupMembers(pid)).toEqual([]);
    await p.close();
  });

  it('kills the whole group with SIGKILL when SIGINT is ignored', async () => {
    const p = new FfmpegProcess({ log, binary: { path: '/bin/sh' }, args: ['-c', 'trap "" INT; sleep 30 & echo ready >&2; wait; sleep 30'], stopTimeoutMs: 300 });
    const spawned = new Promise<number>((r) => p.once('spawn', r));
    const ready = new Promise<void>((r) => p.on('stderr', (line) => line === 'ready' && r()));
    p.start();
    const pid = await spawned;
    await ready;
    const info = await p.close();
    expect(info.signal).toBe('SIGKILL');
    expect(await gone(pid)).toBe(true);
    // The backgrounded sleep was in the group too; as an orphan it is reaped by init a moment later.
    expect(await groupGone(pid)).toBe(true);
  });

  it('children die with the server even when it is SIGKILLed (setpriv --pdeathsig)', async () => {
    const script = `
      import { FfmpegProcess } from ${JSON.stringify(new URL('../../../server/src/shared/ffmpeg/ffmpeg-process.ts', import.meta.url).pathname)};
      import { silentLogger } from ${JSON.stringify(new URL('../../../server/src/shared/logger.ts', import.meta.url).pathname)};
      const p = new FfmpegProcess({ log: silentLogger(), args: ${JSON.stringify(longRunning)} });
      p.on('spawn', (pid) => console.log('PID ' + pid));
      p.start();`;
    const server = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      server.once('exit', () => reject(new Error(`server exited early: ${out}`)));
    });
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    server.kill('SIGKILL');
    expect(await gone(pid)).toBe(true);
  });

  it('runFfmpeg collects stdout and rejects with the stderr tail', async () => {
    const { stdout } = await runFfmpeg({ log, args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:size=8x8', '-frames:v', '1', '-pix_fmt', 'gray', '-f', 'rawvideo', 'pipe:1'] });
    expect(stdout.length).toBe(64);
    await expect(runFfmpeg({ log, args: ['-hide_banner', '-f', 'nosuchformat', '-i', 'x', '-f', 'null', '-'] })).rejects.toThrow(/exited with code/);
  });
});
