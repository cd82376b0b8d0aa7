// The admin's camera list from GET /api/cameras, kept current by socket events and, while a camera is
// still being probed, by a short poll (the server reports state changes of unassigned cameras to no
// room channel, so the socket alone would leave them at "probing").
import { ApiError, del, get, post, put } from './api.ts';
import type { AdminCamera, CameraInput, CameraState, DiscoveredDevice } from './types.ts';

const POLL_MS = 3000;
const enc = encodeURIComponent;

class CameraAdminState {
  list = $state<AdminCamera[]>([]);
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** Camera ids with a test in flight. */
  testing = $state<Record<string, boolean>>({});

  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private active = false;

  /** The admin page is shown: load, and keep polling while cameras are being probed. */
  start(): void {
    this.active = true;
    void this.load();
  }

  stop(): void {
    this.active = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.list = await get<AdminCamera[]>('/api/cameras');
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = e instanceof ApiError ? e : new ApiError(0, 'unknown', String(e));
    } finally {
      this.loading = false;
      this.schedulePoll();
    }
  }

  private schedulePoll(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (!this.active) return;
    const unsettled = this.list.some((c) => c.enabled && (c.state === 'probing' || c.state === 'unknown'));
    if (!unsettled) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      if (this.active && document.visibilityState === 'visible') void this.load();
      else this.schedulePoll();
    }, POLL_MS);
  }

  applyState(cameraId: string, state: CameraState, reason: string | null): void {
    const camera = this.list.find((c) => c.id === cameraId);
    if (!camera) return;
    camera.state = state;
    camera.reason = reason;
    // A camera coming online has a fresh probe (codec, clock offset): fetch it.
    if (state === 'online' || state === 'probing') this.schedulePoll();
    if (state === 'online' && !camera.probe) void this.load();
  }

  async create(input: CameraInput): Promise<AdminCamera> {
    const camera = await post<AdminCamera>('/api/cameras', input);
    this.upsert(camera);
    this.schedulePoll();
    return camera;
  }

  async update(id: string, input: CameraInput): Promise<AdminCamera> {
    const camera = await put<AdminCamera>(`/api/cameras/${enc(id)}`, input);
    this.upsert(camera);
    this.schedulePoll();
    return camera;
  }

  async remove(id: string): Promise<void> {
    await del(`/api/cameras/${enc(id)}`);
    this.list = this.list.filter((c) => c.id !== id);
  }

  /** Probe the camera now; the answer carries its fresh state and reason. */
  async test(id: string): Promise<AdminCamera> {
    this.testing[id] = true;
    try {
      const camera = await post<AdminCamera>(`/api/cameras/${enc(id)}/test`);
      this.upsert(camera);
      return camera;
    } finally {
      delete this.testing[id];
    }
  }

  discover(addresses: string[]): Promise<DiscoveredDevice[]> {
    return post<DiscoveredDevice[]>('/api/cameras/discover', { addresses });
  }

  private upsert(camera: AdminCamera): void {
    const i = this.list.findIndex((c) => c.id === camera.id);
    if (i >= 0) this.list[i] = camera;
    else this.list.push(camera);
  }

  clear(): void {
    this.stop();
    this.list = [];
    this.loaded = false;
    this.error = null;
  }
}

export const cameraAdmin = new CameraAdminState();
