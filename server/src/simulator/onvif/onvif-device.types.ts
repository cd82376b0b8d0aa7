import type { Logger } from '../../shared/logger.ts';
import type { CameraFaults } from '../faults.ts';

export interface OnvifCredentials {
  username: string;
  password: string;
}

/** What GetDeviceInformation answers. */
export interface OnvifDeviceInfo {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
}

export type OnvifProfileToken = 'main' | 'sub';

export interface OnvifDeviceOptions {
  /** A loopback address such as 127.0.0.11; the device refuses to bind anything else. */
  host: string;
  /** 0 picks a free port; `port` tells which after `start()`. */
  port: number;
  credentials: OnvifCredentials;
  deviceInfo: OnvifDeviceInfo;
  /** The RTSP URL GetStreamUri answers for each profile. */
  streamUris: Record<OnvifProfileToken, string>;
  /** The audio the RTSP side sends: AAC, or G.711 A-law. */
  audio: 'aac' | 'pcma';
  /** Frame rate announced in both profiles; the RTSP side should send the same (default 25). */
  frameRate?: number;
  /** The latest JPEG of the picture, or null before the first frame. */
  snapshot: () => Buffer | null;
  faults: CameraFaults;
  log: Logger;
}

/** One SOAP request, as the device judged it (never the credentials). */
export interface OnvifRequestRecord {
  action: string;
  /** 'none' for GetSystemDateAndTime, which needs no credentials. */
  auth: 'ok' | 'none' | 'rejected';
  /** False when the `unresponsive` fault swallowed it. */
  answered: boolean;
}

export interface OnvifDeviceEvents {
  /** After every SOAP request is judged (and answered, unless the camera plays dead). */
  request: [OnvifRequestRecord];
}
