import { spawn, type ChildProcess } from 'node:child_process';

/** A running ffmpeg push: `exited` resolves with its exit code (non-zero when the server cut it). */
export interface RtmpPush {
  child: ChildProcess;
  exited: Promise<number | null>;
}

/** Pushes `seconds` of testsrc + sine as H.264/AAC FLV to `url` in real time, like a body camera. */
export function startPush(url: string, seconds: number): RtmpPush {
  const child = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'flv', url,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/** Pushes and resolves with ffmpeg's exit code. */
export const push = (url: string, seconds: number): Promise<number | null> => startPush(url, seconds).exited;
