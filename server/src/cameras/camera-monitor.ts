import type { Logger } from '../shared/logger.ts';
import type { CameraRecord } from '../rooms/room-repository.ts';
import type { CameraState } from './camera-state.ts';
import type { CameraCredentials, CameraProbe } from './camera-probe.types.ts';
import { checkStream, isRecordable, probeCamera } from './camera-prober.ts';
import { CameraProbeError } from './rtsp-describe.ts';

export interface CameraMonitorOptions {
  camera: CameraRecord;
  credentials: () => CameraCredentials | null;
  /** Told every state the monitor finds (a one-off test passes a no-op). */
  onState: (state: CameraState, reason: string | null) => void;
  log: Logger;
  intervalMs: number;
  timeoutMs: number;
}

export interface CameraCheckResult {
  state: CameraState;
  reason: string | null;
  probe: CameraProbe | null;
}

/**
 * Watches one camera: a full probe at start and whenever the camera was not online, a cheap DESCRIBE
 * of its main stream in between. Every step is bounded by a timeout and runs on its own schedule,
 * so a hung or unreachable camera never delays another.
 */
export class CameraMonitor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CameraCheckResult> | undefined;
  private closed = false;
  private lastProbe: CameraProbe | null = null;
  private lastState: CameraState = 'unknown';

  constructor(private readonly options: CameraMonitorOptions) {}

  get id(): string {
    return this.options.camera.id;
  }

  get probe(): CameraProbe | null {
    return this.lastProbe;
  }

  start(): void {
    this.schedule(0);
  }

  /** Probes now (or joins the probe under way) and returns the outcome. */
  check(full = false): Promise<CameraCheckResult> {
    this.running ??= this.run(full).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      void this.check().then(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async run(full: boolean): Promise<CameraCheckResult> {
    const { camera, credentials, timeoutMs, log } = this.options;
    const needsProbe = full || this.lastState !== 'online' || this.lastProbe === null;
    if (needsProbe && this.lastState === 'unknown') this.publish('probing', null);
    let result: CameraCheckResult;
    try {
      if (needsProbe) {
        this.lastProbe = await probeCamera(camera.source, credentials(), timeoutMs);
      } else {
        await checkStream(this.lastProbe!, credentials(), timeoutMs);
      }
      const probe = this.lastProbe!;
      result = isRecordable(probe)
        ? { state: 'online', reason: probe.liveCodecWarning ? 'H.265: recorded, but browsers may not play it live' : null, probe }
        : { state: 'unsupported', reason: `video codec ${probe.video.codec} cannot be recorded (H.264 or H.265 needed)`, probe };
    } catch (err) {
      if (!(err instanceof CameraProbeError)) log.error({ err, camera: camera.id }, 'camera probe failed unexpectedly');
      const kind = err instanceof CameraProbeError ? err.kind : 'protocol';
      result = {
        state: kind === 'unauthorized' ? 'unauthorized' : 'unreachable',
        reason: (err as Error).message,
        probe: this.lastProbe,
      };
    }
    if (!this.closed) {
      if (result.state !== this.lastState) log.info({ camera: camera.id, state: result.state, reason: result.reason }, 'camera state');
      this.publish(result.state, result.reason);
    }
    return result;
  }

  private publish(state: CameraState, reason: string | null): void {
    this.lastState = state;
    this.options.onState(state, reason);
  }
}
