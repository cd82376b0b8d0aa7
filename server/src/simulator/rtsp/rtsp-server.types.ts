import type { Logger } from '../../shared/logger.ts';
import type { CameraFaults } from '../faults.ts';
import type { AudioCodec, MediaSource } from '../media/media-source.types.ts';

export interface RtspServerOptions {
  /** Address to bind (a loopback address). */
  host: string;
  /** TCP port; 0 picks a free one (see `port` after start()). */
  port: number;
  source: MediaSource;
  faults: CameraFaults;
  credentials: { username: string; password: string };
  /** The audio track this camera offers (the source must emit frames of that codec). */
  audio: AudioCodec;
  log: Logger;
  realm?: string;
  /** Offer qop="auth" in the digest challenge. Default false (many cameras do not). */
  qop?: boolean;
  /** Session timeout announced in the Session header. Default 60 s. */
  sessionTimeoutS?: number;
  /** Largest RTP payload before FU-A fragmentation. Default 1400. */
  mtu?: number;
  /** A TCP client with more than this queued in its socket loses packets (until the next keyframe). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Sender report interval. Default 1000 ms. */
  senderReportIntervalMs?: number;
}

export interface RtspServerEvents {
  /** A session started playing. */
  play: [{ session: string; path: string; transport: 'tcp' | 'udp' }];
  /** A session ended: TEARDOWN, timeout, connection closed, drop fault, server closed. */
  sessionClosed: [{ session: string; reason: 'teardown' | 'timeout' | 'connection' | 'drop' | 'close' }];
}

export class RtspServerStateError extends Error {
  override readonly name = 'RtspServerStateError';
}

export interface RtspServerStats {
  connections: number;
  sessions: number;
  playing: number;
  /** Packets dropped for slow TCP clients since start. */
  droppedPackets: number;
}
