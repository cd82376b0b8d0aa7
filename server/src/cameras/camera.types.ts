export type RoomKind = 'hearing' | 'interview';

/** How the server reaches a camera. Passwords stay `env:NAME` references outside demo mode. */
export type CameraSource =
  | { kind: 'onvif'; url: string; username: string; password: string }
  | { kind: 'rtsp'; mainUrl: string; subUrl?: string; username?: string; password?: string };

export interface CameraRecord {
  id: string;
  name: string;
  roomId: string | null;
  role: string;
  enabled: boolean;
  source: CameraSource;
}
