import type { Logger } from '../../shared/logger.ts';
import type { AudioCodec } from './media-source.types.ts';

export interface LoopMediaSourceOptions {
  /** A clip (MP4 or MPEG-TS) with H.264 video (a second video stream, if any, becomes the sub stream) and AAC audio. */
  file: string;
  log: Logger;
  /** The codec `info().audio` describes (default 'aac'). A 1 kHz A-law tone is always offered too. */
  audio?: AudioCodec;
  ffmpegPath?: string;
}

export interface LoopClipOptions {
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Main stream bits per second (default 4 Mbit/s). */
  bitrate?: number;
  /** Add a second, scaled video stream (the sub stream in loop mode). Default 640×360 at 400 kbit/s; null for none. */
  sub?: { width: number; height: number; bitrate: number } | null;
  /** Add temporal grain so the clip uses its bitrate (default true). */
  grain?: boolean;
  log: Logger;
  ffmpegPath?: string;
}
