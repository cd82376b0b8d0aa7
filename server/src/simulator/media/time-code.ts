/**
 * A machine-readable time code burned into the top rows of a frame: a strip of black/white luma
 * blocks carrying the frame's epoch milliseconds. Blocks scale with the frame width (16 px at 1280,
 * 8 px at 640) so the same decoder reads the main stream, the scaled sub stream and a browser canvas.
 *
 * Layout, left to right, one block each: start guard (white, black), 44 data bits (MSB first,
 * white = 1), 8 bits CRC-8 of the value, stop guard (black, white). The strip is two blocks tall.
 */

/** Blocks across the full frame width; the block size is width / TIME_CODE_COLUMNS. */
export const TIME_CODE_COLUMNS = 80;
const DATA_BITS = 44;
const CRC_BITS = 8;
const TOTAL_BLOCKS = 2 + DATA_BITS + CRC_BITS + 2;
const BLACK = 16;
const WHITE = 235;

export function timeCodeBlockSize(width: number): number {
  return Math.max(2, Math.floor(width / TIME_CODE_COLUMNS));
}

/** Rows at the top of the frame the strip occupies. */
export function timeCodeHeight(width: number): number {
  return 2 * timeCodeBlockSize(width);
}

function crc8(value: number): number {
  // CRC-8 (poly 0x07) over the 6 bytes of the 48-bit big-endian value.
  let crc = 0;
  for (let i = 5; i >= 0; i--) {
    crc ^= Math.floor(value / 2 ** (8 * i)) & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

function bitsOf(epochMs: number): number[] {
  const value = Math.floor(epochMs);
  if (value < 0 || value >= 2 ** DATA_BITS) throw new RangeError(`time code out of range: ${epochMs}`);
  const bits = [1, 0];
  for (let i = DATA_BITS - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  const crc = crc8(value);
  for (let i = CRC_BITS - 1; i >= 0; i--) bits.push((crc >> i) & 1);
  bits.push(0, 1);
  return bits;
}

/** Draws the strip into a luma plane (and, for a yuv420p frame, neutral chroma is the caller's job). */
export function drawTimeCode(luma: Uint8Array, width: number, height: number, epochMs: number): void {
  const bs = timeCodeBlockSize(width);
  const rows = Math.min(height, 2 * bs);
  const bits = bitsOf(epochMs);
  for (let y = 0; y < rows; y++) {
    const row = y * width;
    for (let b = 0; b < TOTAL_BLOCKS; b++) luma.fill(bits[b] ? WHITE : BLACK, row + b * bs, row + (b + 1) * bs);
  }
}

/**
 * Reads the time code from a decoded luma plane (8-bit, `width` bytes per row). Returns the epoch
 * milliseconds, or null when there is no valid strip (guards or CRC do not match).
 */
export function decodeTimeCode(luma: Uint8Array, width: number, height: number): number | null {
  const bs = timeCodeBlockSize(width);
  if (height < 2 * bs || width < TOTAL_BLOCKS * bs) return null;
  // Average the centre half of each block: edges blur under H.264 and scaling.
  const inset = Math.max(0, Math.floor(bs / 4));
  const y0 = inset;
  const y1 = 2 * bs - inset;
  const bits: number[] = [];
  for (let b = 0; b < TOTAL_BLOCKS; b++) {
    let sum = 0;
    let n = 0;
    for (let y = y0; y < y1; y++) {
      const row = y * width + b * bs;
      for (let x = inset; x < bs - inset; x++) {
        sum += luma[row + x] ?? 0;
        n++;
      }
    }
    bits.push(sum / n >= (BLACK + WHITE) / 2 ? 1 : 0);
  }
  if (bits[0] !== 1 || bits[1] !== 0 || bits[TOTAL_BLOCKS - 2] !== 0 || bits[TOTAL_BLOCKS - 1] !== 1) return null;
  let value = 0;
  for (let i = 0; i < DATA_BITS; i++) value = value * 2 + (bits[2 + i] ?? 0);
  let crc = 0;
  for (let i = 0; i < CRC_BITS; i++) crc = (crc << 1) | (bits[2 + DATA_BITS + i] ?? 0);
  return crc === crc8(value) ? value : null;
}

/**
 * The same decoder for RGBA pixels (a browser canvas `getImageData`): luma is computed per pixel of
 * the strip only, so a full frame is never converted.
 */
export function decodeTimeCodeRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): number | null {
  const rows = Math.min(height, timeCodeHeight(width));
  const luma = new Uint8Array(width * rows);
  for (let i = 0; i < luma.length; i++) {
    const p = 4 * i;
    // Full-range RGB → limited-range BT.601 luma, so black/white land on 16/235 like the encoder's.
    luma[i] = 16 + (65.481 * (rgba[p] ?? 0) + 128.553 * (rgba[p + 1] ?? 0) + 24.966 * (rgba[p + 2] ?? 0)) / 255;
  }
  return decodeTimeCode(luma, width, rows);
}
