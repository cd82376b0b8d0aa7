import { FfmpegProcess } from '../../shared/ffmpeg/ffmpeg-process.ts';
import { FrameRenderer } from './frame-renderer.ts';
import type { LoopClipOptions } from './loop-media-source.types.ts';

/**
 * Writes a clip for loop mode and benchmarks from the live renderer: H.264 (no B-frames, closed
 * GOPs, so its access units loop seamlessly) plus a 1 kHz AAC-LC 48 kHz mono tone. Frames are
 * rendered as fast as ffmpeg takes them, with time codes 1/fps apart. Default 1920×1080 25 fps 4 Mbit/s.
 */
export async function createLoopClip(file: string, o: LoopClipOptions): Promise<void> {
  const width = o.width ?? 1920;
  const height = o.height ?? 1080;
  const fps = o.fps ?? 25;
  const bitrate = o.bitrate ?? 4_000_000;
  const sub = o.sub === undefined ? { width: 640, height: 360, bitrate: 400_000 } : o.sub;
  const frames = Math.max(1, Math.round(o.seconds * fps));
  const renderer = new FrameRenderer(width, height);
  // Temporal grain makes the encoder spend its bitrate like a real camera would (a still pattern
  // would encode at a few dozen kbit/s and make a 4 Mbit/s benchmark meaningless).
  const grain = o.grain === false ? '' : ',noise=alls=8:allf=t';
  const gop = String(Math.min(frames, 2 * fps));
  // Codec options apply to every video stream; the rate options are per stream.
  const rate = (i: number, b: number) => [`-b:v:${i}`, String(b), `-maxrate:v:${i}`, String(b), `-bufsize:v:${i}`, String(2 * b)];
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${frames / fps}`,
    ...(sub
      ? ['-filter_complex', `[0:v]format=yuv420p${grain},split=2[m][s0];[s0]scale=${sub.width}:${sub.height}[s]`, '-map', '[m]', '-map', '[s]', '-map', '1:a', ...rate(0, bitrate), ...rate(1, sub.bitrate)]
      : ['-filter_complex', `[0:v]format=yuv420p${grain}[m]`, '-map', '[m]', '-map', '1:a', ...rate(0, bitrate)]),
    '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '48000', '-shortest',
    ...(file.endsWith('.ts') ? ['-f', 'mpegts'] : ['-movflags', '+faststart']),
    file,
  ];
  const proc = new FfmpegProcess({ args, log: o.log, name: 'loop-clip', stdin: 'pipe', stdout: 'ignore', ...(o.ffmpegPath ? { binary: { path: o.ffmpegPath } } : {}) });
  let startError: Error | null = null;
  proc.once('startFailed', (err) => (startError = err));
  proc.start();
  const stdin = proc.stdin;
  if (stdin) {
    const t0 = Date.now();
    for (let i = 0; i < frames && proc.running !== false; i++) {
      if (!stdin.write(renderer.render(t0 + (i * 1000) / fps))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            stdin.off('drain', done);
            stdin.off('close', done);
            resolve();
          };
          stdin.once('drain', done);
          stdin.once('close', done);
        });
      }
      if (stdin.destroyed) break;
    }
    stdin.end();
  }
  const info = await proc.done();
  if (startError) throw startError;
  if (info.code !== 0) throw proc.exitError();
}
