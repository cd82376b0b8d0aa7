/** Splits a stream of concatenated JPEG images (ffmpeg image2pipe + mjpeg) into images. */
export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onImage: (jpeg: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      const soi = this.pending.indexOf(SOI);
      if (soi < 0) {
        this.pending = Buffer.alloc(0);
        return;
      }
      // Entropy-coded data stuffs 0xFF with 0x00, so FF D9 only ends an image.
      const eoi = this.pending.indexOf(EOI, soi + 2);
      if (eoi < 0) {
        this.pending = Buffer.from(this.pending.subarray(soi));
        return;
      }
      this.onImage(Buffer.from(this.pending.subarray(soi, eoi + 2)));
      this.pending = this.pending.subarray(eoi + 2);
    }
  }
}

const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
