import { EventEmitter } from 'node:events';

/** The fault modes of a simulated camera, switchable at run time. */
export interface FaultSettings {
  /** Accept connections but never answer (RTSP and ONVIF): a hung camera. */
  unresponsive: boolean;
  /** Refuse the configured password, as if someone changed it on the camera. */
  wrongPassword: boolean;
  /** The camera's clock runs this many seconds off: ONVIF time and RTCP sender reports. */
  clockSkewS: number;
  /** Keep RTSP sessions open but send no media. */
  stallMedia: boolean;
  /** Send audio of digital silence instead of the tone. */
  silentAudio: boolean;
}

export const NO_FAULTS: FaultSettings = {
  unresponsive: false,
  wrongPassword: false,
  clockSkewS: 0,
  stallMedia: false,
  silentAudio: false,
};

/**
 * The fault state one simulated camera's ONVIF device and RTSP server both read. `dropConnections()`
 * is a one-shot action: every open RTSP connection is closed at once (clients may reconnect).
 */
export class CameraFaults extends EventEmitter<{ drop: []; change: [FaultSettings] }> {
  private settings: FaultSettings = { ...NO_FAULTS };

  get current(): Readonly<FaultSettings> {
    return this.settings;
  }

  set(change: Partial<FaultSettings>): void {
    this.settings = { ...this.settings, ...change };
    this.emit('change', this.settings);
  }

  clear(): void {
    this.set(NO_FAULTS);
  }

  dropConnections(): void {
    this.emit('drop');
  }

  /** The camera's own idea of now: the wall clock plus the configured skew. */
  cameraNow(): Date {
    return new Date(Date.now() + this.settings.clockSkewS * 1000);
  }
}
