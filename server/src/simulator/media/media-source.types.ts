/**
 * What a simulated camera's RTSP server reads: encoded media with the capture time of each frame.
 * One MediaSource serves every simulated camera, so N cameras cost one encode (or none in loop mode).
 */

/** One H.264 access unit: the NAL units of one frame, without start codes. */
export interface VideoAccessUnit {
  nalUnits: Buffer[];
  keyframe: boolean;
  /** Wall-clock capture time of the frame in epoch milliseconds (fractional allowed). */
  captureTimeMs: number;
}

/** One encoded audio frame: an AAC raw frame (no ADTS header) or a G.711 A-law block. */
export interface AudioFrame {
  payload: Buffer;
  /** Number of audio samples in the frame (1024 for AAC, e.g. 160 for 20 ms of G.711 at 8 kHz). */
  samples: number;
  captureTimeMs: number;
  /**
   * Which codec the payload is (a source may offer both, so each camera's RTSP server can pick).
   * Absent means `info().audio.codec`.
   */
  codec?: AudioCodec;
  /**
   * The same frame as digital silence: faults are per camera while the source is shared, so a
   * camera with `silentAudio` sends this instead of `payload` at no encoding cost.
   */
  silentPayload?: Buffer;
}

export interface VideoStreamInfo {
  width: number;
  height: number;
  fps: number;
  /** Sequence and picture parameter sets (no start codes), for the SDP sprop-parameter-sets. */
  sps: Buffer;
  pps: Buffer;
}

export type AudioCodec = 'aac' | 'pcma';

export interface AudioStreamInfo {
  codec: AudioCodec;
  sampleRate: number;
  channels: number;
  /** AAC AudioSpecificConfig, for the SDP `config=` (AAC only). */
  config?: Buffer;
}

export interface MediaSourceInfo {
  main: VideoStreamInfo;
  sub: VideoStreamInfo;
  audio: AudioStreamInfo;
}

export interface MediaSourceEvents {
  main: [VideoAccessUnit];
  sub: [VideoAccessUnit];
  audio: [AudioFrame];
  /** The source failed after it started (the encoder died). */
  died: [Error];
}

/** What the RTSP server needs from a source (LiveMediaSource, LoopMediaSource). */
export interface MediaSource {
  /** Valid after start() resolved. */
  info(): MediaSourceInfo;
  /** Stream facts for one audio codec if the source emits it (frames tagged with `codec`), else null. */
  audioInfo(codec: AudioCodec): AudioStreamInfo | null;
  /** A JPEG of a recent main frame, or null before the first one. */
  latestSnapshot(): Buffer | null;
  start(): Promise<void>;
  close(): Promise<void>;
  on<K extends keyof MediaSourceEvents>(event: K, listener: (...args: MediaSourceEvents[K]) => void): unknown;
  off<K extends keyof MediaSourceEvents>(event: K, listener: (...args: MediaSourceEvents[K]) => void): unknown;
}
