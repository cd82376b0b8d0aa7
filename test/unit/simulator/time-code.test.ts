import { describe, expect, it } from 'vitest';
import { FfmpegProcess } from '../../../server/src/shared/ffmpeg/ffmpeg-process.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';
import { beijingClockText, FrameRenderer } from '../../../server/src/simulator/media/frame-renderer.ts';
import { decodeTimeCode, decodeTimeCodeRgba, drawTimeCode, timeCodeBlockSize } from '../../../server/src/simulator/media/time-code.ts';

const T = Date.UTC(2026, 11, 4, 8, 0, 0, 123);

describe('time code', () => {
  it('round-trips epoch milliseconds at 1280, 640 and 1920 wide', () => {
    for (const [w, h] of [[1280, 720], [640, 360], [1920, 1080]] as const) {
      const luma = new Uint8Array(w * h).fill(128);
      for (const t of [T, T + 1, 0, 2 ** 44 - 1, 1_800_000_000_999]) {
        drawTimeCode(luma, w, h, t);
        expect(decodeTimeCode(luma, w, h)).toBe(t);
      }
    }
    expect(timeCodeBlockSize(1280)).toBe(16);
    expect(timeCodeBlockSize(640)).toBe(8);
  });

  it('rejects a frame without a strip and a strip with a flipped bit (CRC)', () => {
    const w = 1280;
    const h = 720;
    const luma = new Uint8Array(w * h).fill(128);
    expect(decodeTimeCode(luma, w, h)).toBeNull();
    drawTimeCode(luma, w, h, T);
    // Invert data block 20 (both rows).
    for (let y = 0; y < 32; y++) for (let x = 20 * 16; x < 21 * 16; x++) luma[y * w + x] = 251 - luma[y * w + x]!;
    expect(decodeTimeCode(luma, w, h)).toBeNull();
  });

  it('survives H.264 at the sub stream bitrate and scaling to 640×360 (real x264)', async () => {
    const renderer = new FrameRenderer(1280, 720);
    const times = [T, T + 40, T + 80, T + 120, T + 160];
    const raw = Buffer.concat(times.map((t) => renderer.render(t)));
    const { stdout } = await encodeDecode(raw, ['-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-b:v', '400k']);
    const frame = 640 * 360;
    const decoded = [];
    for (let i = 0; i + frame <= stdout.length; i += frame) decoded.push(decodeTimeCode(stdout.subarray(i, i + frame), 640, 360));
    expect(decoded).toEqual(times);
  });

  it('decodes from RGBA pixels, as a browser canvas gives them', () => {
    const [w, h] = [640, 360];
    const luma = new Uint8Array(w * h).fill(128);
    drawTimeCode(luma, w, h, T);
    // Limited-range luma → full-range grey RGB, as a video element renders it.
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.fill(((luma[i]! - 16) * 255) / 219, 4 * i, 4 * i + 3), (rgba[4 * i + 3] = 255);
    expect(decodeTimeCodeRgba(rgba, w, h)).toBe(T);
  });

  it('shows Beijing time (UTC+8) with the date', () => {
    expect(beijingClockText(Date.UTC(2026, 11, 31, 16, 30, 5, 7))).toBe('2027-01-01 00:30:05.007');
  });
});

/** yuv420p 1280×720 frames → H.264 (given args) → decoded grey frames, through two ffmpeg runs. */
async function encodeDecode(raw: Buffer, encodeArgs: string[]): Promise<{ stdout: Buffer }> {
  const log = silentLogger();
  const enc = new FfmpegProcess({
    log,
    stdin: 'pipe',
    args: ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '1280x720', '-r', '25', '-i', 'pipe:0', ...encodeArgs, '-f', 'h264', 'pipe:1'],
  }).start();
  const h264: Buffer[] = [];
  enc.stdout!.on('data', (c: Buffer) => h264.push(c));
  const encDone = new Promise((r) => enc.stdout!.once('close', r));
  enc.stdin!.end(raw);
  await enc.done();
  await encDone;
  const dec = new FfmpegProcess({ log, stdin: 'pipe', args: ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'] }).start();
  const frames: Buffer[] = [];
  dec.stdout!.on('data', (c: Buffer) => frames.push(c));
  const decDone = new Promise((r) => dec.stdout!.once('close', r));
  dec.stdin!.end(Buffer.concat(h264));
  await dec.done();
  await decDone;
  return { stdout: Buffer.concat(frames) };
}
