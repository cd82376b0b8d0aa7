/**
 * The camera API's response shapes, shared by server and client. This file imports only the
 * import-free event map, so the client can use it as it is.
 */
import type { CameraState } from '../realtime/events.ts';

/** A camera's source as the API shows it: never a password, only whether one is set. */
export type CameraSourceView =
  | { kind: 'onvif'; url: string; username: string; hasPassword: boolean }
  | { kind: 'rtsp'; mainUrl: string; subUrl: string | null; username: string | null; hasPassword: boolean };

/** What the server learnt at a camera's last successful probe. */
export interface CameraProbeView {
  at: string;
  device: { manufacturer: string; model: string; firmwareVersion: string } | null;
  video: { codec: string; width: number | null; height: number | null; fps: number | null };
  audio: { codec: string; sampleRate: number } | null;
  clockOffsetMs: number | null;
  liveCodecWarning: boolean;
  hasSubStream: boolean;
  hasSnapshot: boolean;
}

/** A camera as the admin configures it (GET /api/cameras). */
export interface CameraView {
  id: string;
  name: string;
  roomId: string | null;
  role: string;
  enabled: boolean;
  source: CameraSourceView;
  state: CameraState;
  reason: string | null;
  probe: CameraProbeView | null;
}

/** One answer of POST /api/cameras/discover. */
export interface DiscoveredDevice {
  address: string;
  xaddrs: string[];
  name: string | null;
  hardware: string | null;
  endpoint: string;
  /** The configured camera at the same device service address, if any. */
  knownCameraId: string | null;
}
