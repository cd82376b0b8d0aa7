/** H.264 NAL unit helpers: Annex B splitting, access-unit grouping, SPS facts for the SDP. */

export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;

export const nalType = (nal: Buffer): number => (nal[0] ?? 0) & 0x1f;

/** Positions of start codes (00 00 01 or 00 00 00 01): [start of code, start of NAL payload]. */
function findStartCodes(buf: Buffer, from = 0): [number, number][] {
  const out: [number, number][] = [];
  let i = from;
  for (;;) {
    const j = buf.indexOf(0x01, i + 2);
    if (j < 0) break;
    if (buf[j - 1] === 0 && buf[j - 2] === 0) {
      const start = j >= 3 && buf[j - 3] === 0 ? j - 3 : j - 2;
      out.push([start, j + 1]);
    }
    i = j - 1;
  }
  return out;
}

/** Splits a complete Annex B buffer into NAL units (without start codes). */
export function splitAnnexB(buf: Buffer): Buffer[] {
  const codes = findStartCodes(buf);
  const nals: Buffer[] = [];
  for (let k = 0; k < codes.length; k++) {
    const end = k + 1 < codes.length ? codes[k + 1]![0] : buf.length;
    let nal = buf.subarray(codes[k]![1], end);
    // trailing_zero_8bits belong to no NAL
    let e = nal.length;
    while (e > 0 && nal[e - 1] === 0) e--;
    nal = nal.subarray(0, e);
    if (nal.length > 0) nals.push(nal);
  }
  return nals;
}

/**
 * Groups NAL units into access units on access unit delimiters (ffmpeg's
 * `h264_metadata=aud=insert`), falling back to "a new AU starts at SPS/PPS/SEI or at a slice with
 * first_mb_in_slice == 0 after a slice" when a stream carries no AUDs.
 */
export function groupAccessUnits(nals: Buffer[]): Buffer[][] {
  const aus: Buffer[][] = [];
  let current: Buffer[] = [];
  let sawSlice = false;
  for (const nal of nals) {
    const t = nalType(nal);
    const isSlice = t === NAL_SLICE || t === NAL_IDR;
    // first_mb_in_slice is ue(v): 0 is encoded as a single '1' bit, so the top bit of byte 1 is set.
    const firstSlice = isSlice && ((nal[1] ?? 0) & 0x80) !== 0;
    const boundary = t === NAL_AUD || (sawSlice && (t === NAL_SPS || t === NAL_PPS || t === NAL_SEI || firstSlice));
    if (boundary && current.length > 0) {
      aus.push(current);
      current = [];
      sawSlice = false;
    }
    if (t !== NAL_AUD) current.push(nal);
    if (isSlice) sawSlice = true;
  }
  if (current.length > 0) aus.push(current);
  return aus;
}

export const isKeyframe = (nals: Buffer[]): boolean => nals.some((n) => nalType(n) === NAL_IDR);

/** profile_idc, constraint flags and level_idc as the SDP's 6 hex digits. */
export function profileLevelId(sps: Buffer): string {
  return sps.subarray(1, 4).toString('hex').toUpperCase().padEnd(6, '0');
}

/** Exp-Golomb reader over an RBSP (emulation prevention bytes removed). */
class BitReader {
  private pos = 0;
  constructor(private readonly data: Buffer) {}
  bit(): number {
    const byte = this.data[this.pos >> 3] ?? 0;
    const b = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0 && zeros < 32) zeros++;
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

function unescapeRbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]!);
  }
  return Buffer.from(out);
}

/** Frame size coded in an SPS (with cropping), for checks and for clips of unknown size. */
export function spsDimensions(sps: Buffer): { width: number; height: number } {
  const r = new BitReader(unescapeRbsp(sps.subarray(1)));
  const profile = r.bits(8);
  r.bits(16);
  r.ue();
  let chroma = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profile)) {
    chroma = r.ue();
    if (chroma === 3) r.bit();
    r.ue();
    r.ue();
    r.bit();
    if (r.bit()) {
      for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
        if (r.bit()) {
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
  }
  r.ue();
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue();
  r.bit();
  const wMbs = r.ue() + 1;
  const hMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit();
  let width = wMbs * 16;
  let height = hMapUnits * 16 * (2 - frameMbsOnly);
  if (r.bit()) {
    const [l, rr, t, b] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const cx = chroma === 0 ? 1 : 2;
    const cy = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    width -= (l + rr) * cx;
    height -= (t + b) * cy;
  }
  return { width, height };
}
