/**
 * Turns ffmpeg's `astats=metadata=1:reset=1,ametadata=mode=print` output (one RMS level per audio
 * frame, as `frame:N pts:P pts_time:T` then `lavfi.astats.Overall.RMS_level=X`) into one level per
 * second of media: the mean power of the frames in the window, in dBFS.
 */
export const SILENCE_DBFS = -120;

export class LevelMeter {
  private ptsTime: number | null = null;
  private windowStart: number | null = null;
  private power = 0;
  private frames = 0;

  constructor(
    private readonly onLevel: (dbfs: number, endPtsS: number) => void,
    private readonly windowS = 1,
  ) {}

  line(text: string): void {
    const t = /pts_time:(-?[\d.]+)/.exec(text);
    if (t) {
      this.ptsTime = Number(t[1]);
      return;
    }
    const m = /RMS_level=(\S+)/.exec(text);
    if (!m || this.ptsTime === null) return;
    const db = m[1] === '-inf' ? -Infinity : Number(m[1]);
    if (Number.isNaN(db)) return;
    if (this.windowStart === null || this.ptsTime < this.windowStart) this.windowStart = this.ptsTime;
    this.power += db === -Infinity ? 0 : 10 ** (db / 10);
    this.frames++;
    if (this.ptsTime - this.windowStart >= this.windowS) {
      const mean = this.power / this.frames;
      const dbfs = mean > 0 ? Math.max(SILENCE_DBFS, 10 * Math.log10(mean)) : SILENCE_DBFS;
      this.onLevel(Math.round(dbfs * 10) / 10, this.ptsTime);
      this.windowStart = this.ptsTime;
      this.power = 0;
      this.frames = 0;
    }
  }
}
