import type { Logger } from '../shared/logger.ts';
import { CameraFaults } from './faults.ts';
import type { LiveMediaSource } from './media/live-media-source.ts';
import type { LoopMediaSource } from './media/loop-media-source.ts';
import { DiscoveryResponder } from './onvif/discovery-responder.ts';
import { OnvifDevice } from './onvif/onvif-device.ts';
import { RtspServer } from './rtsp/rtsp-server.ts';

export interface SimulatedCameraOptions {
  index: number;
  /** Loopback address of its own, e.g. 127.0.0.11: ONVIF, RTSP and WS-Discovery all bind it. */
  host: string;
  onvifPort: number;
  rtspPort: number;
  discoveryPort: number;
  username: string;
  password: string;
  audio: 'aac' | 'pcma';
  source: LiveMediaSource | LoopMediaSource;
  log: Logger;
}

/** What `simulate` prints for one camera, and what tests need to reach it. */
export interface SimulatedCameraInfo {
  id: string;
  onvif: string;
  rtsp: { main: string; sub: string };
  discovery: string;
  control: string;
  username: string;
  password: string;
}

/**
 * One simulated ONVIF camera: device service, WS-Discovery responder and RTSP server on its own
 * loopback address, sharing one fault state, fed by the simulator's one media source.
 */
export class SimulatedCamera {
  readonly faults = new CameraFaults();
  private readonly rtsp: RtspServer;
  private readonly onvif: OnvifDevice;
  private readonly discovery: DiscoveryResponder;
  private closed = false;

  constructor(private readonly options: SimulatedCameraOptions) {
    const { host, username, password, audio, source } = options;
    const log = options.log.child({ camera: this.id });
    const credentials = { username, password };
    this.rtsp = new RtspServer({ host, port: options.rtspPort, source, faults: this.faults, credentials, audio, log });
    const rtspBase = `rtsp://${host}:${options.rtspPort}`;
    this.onvif = new OnvifDevice({
      host,
      port: options.onvifPort,
      credentials,
      deviceInfo: {
        manufacturer: 'hearing-recorder',
        model: 'Simulated Camera',
        firmwareVersion: '1.0',
        serialNumber: `SIM-${String(options.index + 1).padStart(4, '0')}`,
        hardwareId: 'sim-720p',
      },
      streamUris: { main: `${rtspBase}/main`, sub: `${rtspBase}/sub` },
      audio,
      snapshot: () => source.latestSnapshot(),
      faults: this.faults,
      log,
    });
    this.discovery = new DiscoveryResponder({
      host,
      port: options.discoveryPort,
      xaddrs: [this.serviceUrl],
      name: `Simulated-Camera-${options.index + 1}`,
      hardware: 'sim-720p',
      faults: this.faults,
      log,
    });
  }

  get id(): string {
    return `sim-${twoDigits(this.options.index + 1)}`;
  }

  get serviceUrl(): string {
    return `http://${this.options.host}:${this.options.onvifPort}/onvif/device_service`;
  }

  get info(): SimulatedCameraInfo {
    const { host, rtspPort, onvifPort, discoveryPort, username, password } = this.options;
    return {
      id: this.id,
      onvif: this.serviceUrl,
      rtsp: { main: `rtsp://${host}:${rtspPort}/main`, sub: `rtsp://${host}:${rtspPort}/sub` },
      discovery: `${host}:${discoveryPort}`,
      control: `http://${host}:${onvifPort}/simulator/faults`,
      username,
      password,
    };
  }

  async start(): Promise<void> {
    await this.rtsp.start();
    await this.onvif.start();
    await this.discovery.start();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.discovery.close(), this.onvif.close(), this.rtsp.close()]);
  }
}

const twoDigits = (n: number) => String(n).padStart(2, '0');
