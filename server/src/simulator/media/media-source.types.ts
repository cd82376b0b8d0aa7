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

export interface MediaSourceEvents {
  main: [VideoAccessUnit];
  sub: [VideoAccessUnit];
  audio: [AudioFrame];
  /** The source failed after it started (the encoder died). */
  died: [Error];
}
