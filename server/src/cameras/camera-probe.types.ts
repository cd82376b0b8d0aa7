import type { CameraSource } from '../rooms/room-repository.ts';

/** What the server learnt about a camera at its last successful probe. */
export interface CameraProbe {
  at: string;
  kind: CameraSource['kind'];
  device: { manufacturer: string; model: string; firmwareVersion: string; serialNumber: string } | null;
  /** RTSP URLs without credentials: the server adds them when it connects. */
  mainUrl: string;
  subUrl: string | null;
  snapshotUrl: string | null;
  video: { codec: string; width: number | null; height: number | null; fps: number | null };
  audio: { codec: string; sampleRate: number } | null;
  /** Camera clock minus server clock (ONVIF GetSystemDateAndTime), null when not measurable. */
  clockOffsetMs: number | null;
  /** H.265: recorded, but browsers may not play it live. */
  liveCodecWarning: boolean;
}

export interface CameraCredentials {
  username: string;
  password: string;
}
