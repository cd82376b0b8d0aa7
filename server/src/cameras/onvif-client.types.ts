import { CameraProbeError, type ProbeFailureKind } from './rtsp-describe.types.ts';
export interface OnvifConnectOptions {
  /** The device service URL, e.g. `http://192.168.1.64/onvif/device_service`. */
  url: string;
  username: string;
  password: string;
  /** Bound on every single call (connect included); a hung camera fails with kind 'timeout'. */
  timeoutMs: number;
}

export interface OnvifDeviceInformation {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
}

export interface OnvifVideoEncoding {
  /** As the camera names it: 'H264', 'H265', 'JPEG', 'MPEG4'. */
  encoding: string;
  width: number;
  height: number;
  /** Frame rate limit of the encoder; null when the camera does not say. */
  framerate: number | null;
  bitrateKbps: number | null;
}

export interface OnvifAudioEncoding {
  /** As the camera names it: 'AAC', 'G711', 'G726'. */
  encoding: string;
  sampleRateKhz: number | null;
  bitrateKbps: number | null;
}

export interface OnvifProfile {
  token: string;
  name: string;
  video: OnvifVideoEncoding | null;
  audio: OnvifAudioEncoding | null;
  /** The profile has a PTZ configuration. */
  ptz: boolean;
}

export interface OnvifClock {
  /** The camera's time (ONVIF carries whole seconds: we take the middle of that second). */
  cameraTime: Date;
  /** Camera clock minus local clock at the request's midpoint, in ms (positive: camera is ahead). */
  offsetMs: number;
  roundTripMs: number;
}

export interface OnvifPtzPreset {
  token: string;
  name: string;
}

export type OnvifErrorKind = ProbeFailureKind;

/** A camera probe failure that came from the ONVIF side. */
export class OnvifError extends CameraProbeError {
  override readonly name = 'OnvifError';
}
