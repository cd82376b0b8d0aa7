import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';

/** Login for the camera's RTSP server. Goes into ffmpeg's argument array only, never into a log. */
export interface IngestCredentials {
  username: string;
  password: string;
}

export interface CameraIngestOptions {
  cameraId: string;
  /** The camera's main stream, e.g. `rtsp://192.168.1.64:554/Streaming/Channels/101`. Host names are resolved in Node. */
  rtspUrl: string;
  credentials?: IngestCredentials | null;
  /** Segments go to `<spoolDir>/<cameraId>/`. */
  spoolDir: string;
  /** Target segment length; cuts happen at the first keyframe after it. Default 2. */
  segmentSeconds?: number;
  log: Logger;
  clock?: Clock;
  /** Camera clock minus true time (ONVIF GetSystemDateAndTime), subtracted from RTCP times. Default 0. */
  cameraClockOffsetMs?: number;
  /**
   * 'auto' (default): RTCP sender reports when the camera sends them within `senderReportWaitMs`,
   * otherwise arrival time. 'arrival' forces arrival time (tests compare both).
   */
  timeSource?: 'auto' | 'arrival';
  /** How long the first media of a connection is held waiting for a sender report per stream. Default 3000. */
  senderReportWaitMs?: number;
  /** Latency subtracted from arrival times before one was measured from RTCP. Default 0. */
  arrivalLatencyMs?: number;
  /** No media for this long is a gap. Default 2500. */
  stallMs?: number;
  /** |change of measured latency| above which a `drift` event is emitted and the baseline moved. Default 40. */
  driftThresholdMs?: number;
  /** Audio bitrate of the AAC transcode. Default 64000. */
  audioBitrate?: number;
}

export type TimeSource = 'rtcp' | 'arrival';

/** One closed spool segment: a self-contained MPEG-TS file of about `segmentSeconds`. */
export interface SpoolSegment {
  cameraId: string;
  /** Increases by one per segment across reconnects and restarts (taken from the spool directory). */
  seq: number;
  /** Absolute path of the file. */
  file: string;
  bytes: number;
  /** SHA-256 of the file, hex, computed while it was read once. */
  sha256: string;
  /**
   * Media time (seconds) of the first and last-plus-one frame in the ffmpeg run's timeline. Only
   * meaningful within one connection: a reconnect starts a new media timeline.
   */
  mediaStartS: number;
  mediaEndS: number;
  /** Capture time (wall clock, UTC ISO with ms) of the first frame and of the end of the last. */
  startedAt: string;
  endedAt: string;
  timeSource: TimeSource;
}

export interface AudioLevel {
  cameraId: string;
  /** RMS level over about one second, dBFS; −120 stands for digital silence. */
  dbfs: number;
  /** Capture time of the end of the measured second (ISO UTC ms). */
  at: string;
}

export type InterruptionCause = 'connection_lost' | 'stalled' | 'process_exit' | 'camera_unreachable';

/** A gap noticed (within `stallMs` + 0.25 s): the camera stopped delivering. `interruption` closes it. */
export interface IngestGap {
  cameraId: string;
  /** Capture time of the last media received (ISO UTC ms). */
  startedAt: string;
  detectedAt: string;
  cause: InterruptionCause;
  detail: string;
}

/** A closed gap: from the end of the last segment before it to the start of the first one after. */
export interface Interruption {
  cameraId: string;
  startedAt: string;
  endedAt: string;
  cause: InterruptionCause;
  detail: string;
}

export interface ClockDrift {
  cameraId: string;
  /** Change of (arrival − camera capture time) since the last baseline, ms (positive: camera clock falls behind). */
  driftMs: number;
  at: string;
}

export type IngestState = 'starting' | 'running' | 'reconnecting' | 'stopped';

export interface CameraIngestEvents {
  segment: [SpoolSegment];
  level: [AudioLevel];
  gap: [IngestGap];
  interruption: [Interruption];
  drift: [ClockDrift];
  state: [IngestState];
  /** The first ffmpeg could not be started at all (binary missing, spoolDir not writable). The ingest stops. */
  startFailed: [Error];
  /** An ffmpeg run ended with an error; the ingest reconnects by itself. */
  died: [Error];
}

export class IngestStateError extends Error {
  override readonly name = 'IngestStateError';
}
