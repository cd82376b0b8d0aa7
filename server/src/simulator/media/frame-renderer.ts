import { drawTimeCode, timeCodeHeight } from './time-code.ts';

/**
 * Renders yuv420p test frames: a calm background computed once, the Beijing wall-clock time to the
 * millisecond in large seven-segment digits, and the machine-readable time code strip on top.
 */
export class FrameRenderer {
  readonly frameSize: number;
  private readonly background: Buffer;
  private readonly scale: number;
  private readonly clockX: number;
  private readonly clockY: number;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (width % 16 !== 0 || height % 2 !== 0) throw new TypeError(`frame size ${width}x${height}: width must be a multiple of 16, height even`);
    this.frameSize = (width * height * 3) / 2;
    this.scale = width / 1280;
    const textWidth = CLOCK_TEXT_LENGTH * this.cell().advance;
    this.clockX = Math.floor((width - textWidth) / 2);
    this.clockY = Math.floor(height / 2 - this.cell().h / 2);
    this.background = this.paintBackground();
  }

  /** One frame showing `epochMs` (digits and time code). A fresh buffer: it may sit in a pipe queue. */
  render(epochMs: number): Buffer {
    const frame = Buffer.allocUnsafe(this.frameSize);
    this.background.copy(frame);
    drawTimeCode(frame, this.width, this.height, epochMs);
    this.drawClock(frame, epochMs);
    return frame;
  }

  private cell(): { w: number; h: number; t: number; advance: number } {
    const w = Math.round(34 * this.scale);
    const h = Math.round(64 * this.scale);
    const t = Math.max(2, Math.round(7 * this.scale));
    return { w, h, t, advance: w + Math.round(10 * this.scale) };
  }

  private paintBackground(): Buffer {
    const { width, height } = this;
    const buf = Buffer.alloc(this.frameSize);
    const y = buf.subarray(0, width * height);
    const u = buf.subarray(width * height, width * height * 1.25);
    const v = buf.subarray(width * height * 1.25);
    // Muted colour bars (Y, U, V) — low saturation compresses cheaply and is easy on the eye.
    const bars: [number, number, number][] = [
      [150, 128, 128], [140, 108, 136], [130, 136, 110], [120, 118, 112],
      [110, 140, 142], [100, 120, 146], [90, 146, 122], [80, 128, 128],
    ];
    const barsBottom = Math.floor(height * 0.72);
    for (let row = 0; row < height; row++) {
      for (let x = 0; x < width; x++) {
        let luma: number;
        if (row < barsBottom) luma = bars[Math.min(7, Math.floor((x * 8) / width))]![0];
        else luma = 40 + Math.floor((x / width) * 160); // grey ramp
        y[row * width + x] = luma;
      }
    }
    const cw = width / 2;
    for (let row = 0; row < height / 2; row++) {
      for (let x = 0; x < cw; x++) {
        const bar = bars[Math.min(7, Math.floor((x * 8) / cw))]!;
        const inBars = row * 2 < barsBottom;
        u[row * cw + x] = inBars ? bar[1] : 128;
        v[row * cw + x] = inBars ? bar[2] : 128;
      }
    }
    // Neutral strip behind the time code, dark box behind the clock.
    const strip = timeCodeHeight(width) + 2;
    y.fill(128, 0, strip * width);
    u.fill(128, 0, (strip / 2) * cw);
    v.fill(128, 0, (strip / 2) * cw);
    const c = this.cell();
    const pad = Math.round(16 * this.scale);
    const x0 = Math.max(0, this.clockX - pad);
    const x1 = Math.min(width, this.clockX + CLOCK_TEXT_LENGTH * c.advance + pad);
    const y0 = Math.max(0, this.clockY - pad);
    const y1 = Math.min(height, this.clockY + c.h + pad);
    for (let row = y0; row < y1; row++) y.fill(24, row * width + x0, row * width + x1);
    for (let row = y0 >> 1; row < y1 >> 1; row++) {
      u.fill(128, row * cw + (x0 >> 1), row * cw + (x1 >> 1));
      v.fill(128, row * cw + (x0 >> 1), row * cw + (x1 >> 1));
    }
    return buf;
  }

  private drawClock(frame: Buffer, epochMs: number): void {
    const text = beijingClockText(epochMs);
    const c = this.cell();
    for (let i = 0; i < text.length; i++) this.drawChar(frame, text[i]!, this.clockX + i * c.advance, this.clockY, c);
  }

  private drawChar(frame: Buffer, ch: string, x: number, y: number, c: { w: number; h: number; t: number }): void {
    const rect = (rx: number, ry: number, rw: number, rh: number) => {
      for (let row = ry; row < ry + rh; row++) frame.fill(230, row * this.width + rx, row * this.width + rx + rw);
    };
    const { w, h, t } = c;
    const mid = Math.floor((h - t) / 2);
    if (ch === '-') return rect(x + t, y + mid, w - 2 * t, t);
    if (ch === ':') {
      rect(x + Math.floor((w - t) / 2), y + Math.floor(h / 4), t, t);
      return rect(x + Math.floor((w - t) / 2), y + Math.floor((3 * h) / 4) - t, t, t);
    }
    if (ch === '.') return rect(x + Math.floor((w - t) / 2), y + h - t, t, t);
    const segs = SEGMENTS[ch];
    if (!segs) return;
    // a: top, b: top right, c: bottom right, d: bottom, e: bottom left, f: top left, g: middle
    if (segs.includes('a')) rect(x, y, w, t);
    if (segs.includes('b')) rect(x + w - t, y, t, mid + t);
    if (segs.includes('c')) rect(x + w - t, y + mid, t, h - mid);
    if (segs.includes('d')) rect(x, y + h - t, w, t);
    if (segs.includes('e')) rect(x, y + mid, t, h - mid);
    if (segs.includes('f')) rect(x, y, t, mid + t);
    if (segs.includes('g')) rect(x, y + mid, w, t);
  }
}

const SEGMENTS: Record<string, string> = {
  '0': 'abcdef', '1': 'bc', '2': 'abdeg', '3': 'abcdg', '4': 'bcfg',
  '5': 'acdfg', '6': 'acdefg', '7': 'abc', '8': 'abcdefg', '9': 'abcdfg',
};

const CLOCK_TEXT_LENGTH = 'YYYY-MM-DD HH:MM:SS.mmm'.length;

/** `YYYY-MM-DD HH:MM:SS.mmm` in Asia/Shanghai (UTC+8 all year, no DST). */
export function beijingClockText(epochMs: number): string {
  const d = new Date(Math.floor(epochMs) + 8 * 3600_000);
  const p = (n: number, l = 2) => String(n).padStart(l, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}
