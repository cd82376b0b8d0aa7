import { resolveSecret } from '../config/loader.ts';
import type { CameraRecord, CameraSource } from '../rooms/room-repository.ts';
import type { Logger } from '../shared/logger.ts';
import { SecretBox } from '../shared/secret-box.ts';
import type { CameraCredentials, CameraProbe } from './camera-probe.types.ts';
import { CameraMonitor, type CameraCheckResult } from './camera-monitor.ts';
import type { CameraRepository } from './camera-repository.ts';
import type { CameraStates } from './camera-state.ts';
import { fetchFromCamera } from './http-fetch.ts';
import { CameraProbeError } from './rtsp-describe.types.ts';
import { pullStream, type PulledStream } from './stream-check.ts';

export interface CameraTestResult extends CameraCheckResult {
  /** What a real pull of the main stream delivered; null when the camera is not online. */
  media: PulledStream | null;
}

export interface CameraManagerOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Keeps one CameraMonitor per enabled camera in step with the database, and serves what needs a
 * camera's credentials (snapshots) so they never leave the server.
 */
export class CameraManager {
  private readonly monitors = new Map<string, { monitor: CameraMonitor; fingerprint: string }>();
  private closed = false;

  constructor(
    private readonly cameras: CameraRepository,
    private readonly states: CameraStates,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
    private readonly options: CameraManagerOptions,
  ) {}

  /** Starts, restarts or stops monitors after cameras changed (and once at start). */
  sync(): void {
    if (this.closed) return;
    const wanted = new Map(this.cameras.list().filter((c) => c.enabled).map((c) => [c.id, c]));
    for (const [id, entry] of this.monitors) {
      const camera = wanted.get(id);
      if (!camera || fingerprint(camera) !== entry.fingerprint) {
        entry.monitor.close();
        this.monitors.delete(id);
        this.states.set({ cameraId: id, state: 'unknown', reason: camera ? null : 'disabled or removed' });
      }
    }
    for (const camera of wanted.values()) {
      if (this.monitors.has(camera.id)) continue;
      const monitor = new CameraMonitor({
        camera,
        credentials: () => this.credentials(camera.source),
        onState: (state, reason) => this.states.set({ cameraId: camera.id, state, reason }),
        log: this.log,
        intervalMs: this.options.intervalMs,
        timeoutMs: this.options.timeoutMs,
      });
      this.monitors.set(camera.id, { monitor, fingerprint: fingerprint(camera) });
      monitor.start();
    }
  }

  probe(cameraId: string): CameraProbe | null {
    return this.monitors.get(cameraId)?.monitor.probe ?? null;
  }

  /**
   * The admin's "test": a full probe now (a one-off that changes no state for a disabled camera),
   * then a real pull of the main stream, as the recorder will pull it.
   */
  async test(camera: CameraRecord): Promise<CameraTestResult> {
    const check = await this.check(camera);
    if (check.state !== 'online' || !check.probe) return { ...check, media: null };
    try {
      const media = await pullStream(check.probe.mainUrl, this.credentials(camera.source), {
        timeoutMs: Math.max(this.options.timeoutMs, 8000),
        log: this.log,
      });
      return { ...check, media };
    } catch (err) {
      if (!(err instanceof CameraProbeError)) throw err;
      return { state: err.kind === 'unauthorized' ? 'unauthorized' : 'unreachable', reason: `media: ${err.message}`, probe: check.probe, media: null };
    }
  }

  private check(camera: CameraRecord): Promise<CameraCheckResult> {
    const running = this.monitors.get(camera.id)?.monitor;
    if (running) return running.check(true);
    const oneOff = new CameraMonitor({
      camera,
      credentials: () => this.credentials(camera.source),
      onState: () => undefined,
      log: this.log,
      intervalMs: this.options.intervalMs,
      timeoutMs: this.options.timeoutMs,
    });
    return oneOff.check(true);
  }

  /** The camera's current picture as JPEG, fetched with its credentials. */
  async snapshot(camera: CameraRecord): Promise<Buffer> {
    const probe = this.probe(camera.id);
    if (!probe?.snapshotUrl) {
      throw new CameraProbeError('protocol', probe ? 'this camera offers no snapshot' : 'the camera has not been probed yet');
    }
    const { body } = await fetchFromCamera(probe.snapshotUrl, this.credentials(camera.source), {
      timeoutMs: this.options.timeoutMs,
      maxBytes: 8 * 1024 * 1024,
    });
    if (body[0] !== 0xff || body[1] !== 0xd8) throw new CameraProbeError('protocol', 'the camera did not answer with a JPEG');
    return body;
  }

  /** The credentials of a camera with its password resolved (env:, sealed or demo literal). */
  credentials(source: CameraSource): CameraCredentials | null {
    if (!source.username) return null;
    const stored = source.password ?? '';
    const password = SecretBox.isSealed(stored) ? this.secrets.open(stored) : resolveSecret(stored);
    return { username: source.username, password };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { monitor } of this.monitors.values()) monitor.close();
    this.monitors.clear();
  }
}

const fingerprint = (camera: CameraRecord) => JSON.stringify([camera.source, camera.enabled]);
