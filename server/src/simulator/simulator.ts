import type { Logger } from '../shared/logger.ts';
import { LiveMediaSource } from './media/live-media-source.ts';
import { LoopMediaSource } from './media/loop-media-source.ts';
import { SimulatedCamera, type SimulatedCameraInfo } from './simulated-camera.ts';

export interface SimulatorOptions {
  cameras: number;
  firstAddress: string;
  onvifBasePort: number;
  rtspBasePort: number;
  /** WS-Discovery port on every camera's address (3702, the standard one). */
  discoveryPort?: number;
  username: string;
  password: string;
  audio: 'aac' | 'pcma';
  /** A pre-encoded clip to loop instead of encoding a live test pattern. */
  loop?: string;
  log: Logger;
}

/**
 * N simulated cameras on loopback fed by one media source: one live encode shared by all, or a
 * pre-encoded clip looped with no encoding at all. Camera i binds firstAddress + i.
 */
export class Simulator {
  private closed = false;

  private constructor(
    private readonly source: LiveMediaSource | LoopMediaSource,
    readonly cameras: SimulatedCamera[],
  ) {}

  static async start(options: SimulatorOptions): Promise<Simulator> {
    const source = options.loop
      ? new LoopMediaSource({ file: options.loop, log: options.log })
      : new LiveMediaSource({ log: options.log, audio: options.audio });
    await source.start();
    const [a, b, c, d] = options.firstAddress.split('.').map(Number) as [number, number, number, number];
    const cameras = Array.from(
      { length: options.cameras },
      (_, i) =>
        new SimulatedCamera({
          index: i,
          host: `${a}.${b}.${c}.${d + i}`,
          onvifPort: options.onvifBasePort + i,
          rtspPort: options.rtspBasePort + i,
          discoveryPort: options.discoveryPort ?? 3702,
          username: options.username,
          password: options.password,
          audio: options.audio,
          source,
          log: options.log,
        }),
    );
    const simulator = new Simulator(source, cameras);
    try {
      for (const camera of cameras) await camera.start();
    } catch (err) {
      await simulator.close();
      throw err;
    }
    options.log.info({ cameras: cameras.length, loop: options.loop ?? null }, 'simulated cameras started');
    return simulator;
  }

  get info(): SimulatedCameraInfo[] {
    return this.cameras.map((c) => c.info);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.cameras.map((c) => c.close()));
    await this.source.close();
  }
}
