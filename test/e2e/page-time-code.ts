// The burned-in time code of the simulator, read from a video element in Chromium: the in-page port
// of decodeTimeCode (server/src/simulator/media/time-code.ts), shared by the browser tests.
import { pause } from '../helpers/wait.ts';

/** Polls until `read` gives a value (not null), or throws naming `what`. */
export async function poll<T>(read: () => Promise<T | null>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== null) return value;
    if (Date.now() > until) throw new Error(`${what} not seen within ${timeoutMs} ms`);
    await pause(200);
  }
}

/**
 * Runs in the page: draws the time-code strip of a tile's video to a canvas and decodes it (a port of
 * decodeTimeCode / decodeTimeCodeRgba in server/src/simulator/media/time-code.ts). Plain JavaScript in
 * a string, so no transpiler helper ends up in the page. Returns { value, width, height } or null.
 */
export const READ_TIME_CODE = `(testId) => {
  const video = document.querySelector('[data-testid="' + testId + '"] video');
  if (!video || video.videoWidth === 0 || video.readyState < 2) return null;
  const width = video.videoWidth;
  const bs = Math.max(2, Math.floor(width / 80));
  const rows = 2 * bs;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = rows;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, width, rows, 0, 0, width, rows);
  const rgba = ctx.getImageData(0, 0, width, rows).data;
  const luma = (x, y) => {
    const p = 4 * (y * width + x);
    return 16 + (65.481 * rgba[p] + 128.553 * rgba[p + 1] + 24.966 * rgba[p + 2]) / 255;
  };
  const TOTAL = 2 + 44 + 8 + 2;
  const inset = Math.max(0, Math.floor(bs / 4));
  const bits = [];
  for (let b = 0; b < TOTAL; b++) {
    let sum = 0;
    let n = 0;
    for (let y = inset; y < rows - inset; y++) {
      for (let x = inset; x < bs - inset; x++) {
        sum += luma(b * bs + x, y);
        n++;
      }
    }
    bits.push(sum / n >= (16 + 235) / 2 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[1] !== 0 || bits[TOTAL - 2] !== 0 || bits[TOTAL - 1] !== 1) return null;
  let value = 0;
  for (let i = 0; i < 44; i++) value = value * 2 + bits[2 + i];
  let crcGiven = 0;
  for (let i = 0; i < 8; i++) crcGiven = (crcGiven << 1) | bits[46 + i];
  let crc = 0;
  for (let i = 5; i >= 0; i--) {
    crc ^= Math.floor(value / 2 ** (8 * i)) & 0xff;
    for (let k = 0; k < 8; k++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  if (crc !== crcGiven) return null;
  return { value, width, height: video.videoHeight, now: Date.now() };
}`;
