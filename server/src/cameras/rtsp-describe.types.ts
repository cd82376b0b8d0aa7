export type ProbeFailureKind = 'unauthorized' | 'unreachable' | 'timeout' | 'protocol';

/** A camera answered in a way that tells the operator what to fix. */
export class CameraProbeError extends Error {
  override readonly name: string = 'CameraProbeError';
  constructor(
    readonly kind: ProbeFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface SdpMedia {
  type: 'video' | 'audio' | 'application' | string;
  /** Upper-case encoding name from a=rtpmap, e.g. H264, H265, MPEG4-GENERIC, PCMA. */
  codec: string;
  clockRate: number;
  channels?: number;
  control?: string;
}

export interface RtspDescription {
  /** The URL actually described (after any redirect-free answer). */
  url: string;
  sdp: string;
  media: SdpMedia[];
  server?: string;
}
