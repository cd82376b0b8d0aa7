import type { Logger } from '../../shared/logger.ts';
import type { AudioCodec } from './media-source.types.ts';

export interface LiveMediaSourceOptions {
  log: Logger;
  /** The codec `info().audio` describes. Frames of both codecs are emitted, tagged with `codec`. */
  audio?: AudioCodec;
  /** Main stream size and rate. Defaults 1280×720 at 25 fps, 2 Mbit/s. */
  width?: number;
  height?: number;
  fps?: number;
  mainBitrate?: number;
  /** Sub stream. Defaults 640×360, 400 kbit/s. */
  subWidth?: number;
  subHeight?: number;
  subBitrate?: number;
  /** Keyframe interval in seconds (default 1). */
  gopS?: number;
  /** Explicit ffmpeg binary (otherwise FFMPEG_PATH / PATH / bundled). */
  ffmpegPath?: string;
  /** How long start() waits for the encoder's first parameter sets. Default 15 s. */
  startTimeoutMs?: number;
}
