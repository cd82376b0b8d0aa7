import type { AudioCodec, AudioFrame } from './media-source.types.ts';

export interface PacedAudioTrack {
  codec: AudioCodec;
  sampleRate: number;
  samplesPerFrame: number;
  /** Frames played in a loop; silentFrame is sent alongside each as `silentPayload`. */
  frames: Buffer[];
  silentFrame: Buffer;
}

/**
 * Emits pre-encoded audio frames in real time. Capture times follow the sample clock exactly
 * (start + n × frame duration), so a late timer delays delivery but never bends the timestamps.
 */
export class AudioPacer {
  private timer: NodeJS.Timeout | null = null;
  private readonly counters: number[];
  private t0 = 0;

  constructor(
    private readonly tracks: PacedAudioTrack[],
    private readonly emit: (frame: AudioFrame) => void,
    private readonly tickMs = 20,
  ) {
    this.counters = tracks.map(() => 0);
  }

  start(t0 = Date.now()): void {
    if (this.timer) return;
    this.t0 = t0;
    this.timer = setInterval(() => this.pump(), this.tickMs);
    this.pump();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private pump(): void {
    const now = Date.now();
    this.tracks.forEach((track, i) => {
      const frameMs = (track.samplesPerFrame * 1000) / track.sampleRate;
      let n = this.counters[i]!;
      // After a long stall (event loop blocked) skip ahead instead of bursting seconds of audio.
      const behind = Math.floor((now - this.t0) / frameMs) - n;
      if (behind > 50) n += behind - 1;
      for (; this.t0 + n * frameMs <= now; n++) {
        this.emit({
          payload: track.frames[n % track.frames.length]!,
          silentPayload: track.silentFrame,
          samples: track.samplesPerFrame,
          captureTimeMs: this.t0 + n * frameMs,
          codec: track.codec,
        });
      }
      this.counters[i] = n;
    });
  }
}
