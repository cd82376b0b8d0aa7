/**
 * Streaming FLV demuxer for the live encoder's H.264 outputs. FLV frames each access unit with an
 * explicit size, so an AU is complete the moment its tag arrives — raw Annex B would only reveal
 * the end of frame N when frame N+1 starts, adding a frame of latency to the simulated camera.
 */
export interface FlvAccessUnit {
  nalUnits: Buffer[];
  keyframe: boolean;
  /** FLV timestamp (decode time, ms) plus composition offset: the presentation time in ms. */
  ptsMs: number;
}

export interface AvcConfig {
  sps: Buffer;
  pps: Buffer;
  lengthSize: number;
}

export class FlvH264Demuxer {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  config: AvcConfig | null = null;

  constructor(
    private readonly onConfig: (config: AvcConfig) => void,
    private readonly onAccessUnit: (au: FlvAccessUnit) => void,
  ) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    if (!this.headerDone) {
      if (this.pending.length < 13) return;
      if (this.pending.toString('latin1', 0, 3) !== 'FLV') throw new Error('not an FLV stream');
      off = this.pending.readUInt32BE(5) + 4;
      this.headerDone = true;
    }
    while (this.pending.length - off >= 11) {
      const type = this.pending[off]!;
      const size = this.pending.readUIntBE(off + 1, 3);
      if (this.pending.length - off < 11 + size + 4) break;
      const ts = this.pending.readUIntBE(off + 4, 3) | (this.pending[off + 7]! << 24);
      const body = this.pending.subarray(off + 11, off + 11 + size);
      off += 11 + size + 4;
      if (type === 9) this.video(body, ts);
    }
    // Copy the tail so the big chunk it came from can be freed.
    this.pending = off === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(off));
  }

  private video(body: Buffer, ts: number): void {
    if (body.length < 5 || (body[0]! & 0x0f) !== 7) return;
    const keyframe = body[0]! >> 4 === 1;
    const packetType = body[1]!;
    const cts = (body.readIntBE(2, 3));
    const data = body.subarray(5);
    if (packetType === 0) {
      this.config = parseAvcConfig(data);
      this.onConfig(this.config);
      return;
    }
    if (packetType !== 1 || !this.config) return;
    const nals: Buffer[] = [];
    const ls = this.config.lengthSize;
    for (let p = 0; p + ls <= data.length; ) {
      const len = data.readUIntBE(p, ls);
      p += ls;
      // Copy: the NAL outlives the chunk and is fanned out to many sessions.
      nals.push(Buffer.from(data.subarray(p, p + len)));
      p += len;
    }
    this.onAccessUnit({ nalUnits: nals, keyframe, ptsMs: ts + cts });
  }
}

/** AVCDecoderConfigurationRecord → first SPS, first PPS, NAL length size. */
export function parseAvcConfig(rec: Buffer): AvcConfig {
  const lengthSize = (rec[4]! & 3) + 1;
  let p = 5;
  const numSps = rec[p++]! & 0x1f;
  let sps: Buffer | null = null;
  for (let i = 0; i < numSps; i++) {
    const len = rec.readUInt16BE(p);
    sps ??= Buffer.from(rec.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  const numPps = rec[p++]!;
  let pps: Buffer | null = null;
  for (let i = 0; i < numPps; i++) {
    const len = rec.readUInt16BE(p);
    pps ??= Buffer.from(rec.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  if (!sps || !pps) throw new Error('AVC configuration without SPS or PPS');
  return { sps, pps, lengthSize };
}
