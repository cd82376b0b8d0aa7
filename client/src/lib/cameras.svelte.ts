// The admin's camera list from GET /api/cameras, kept current by socket events: the admin receives
// the state changes of every camera, placed in a room or not.
import { ApiError, del, get, post, put } from './api.ts';
import type { AdminCamera, CameraInput, CameraState, DiscoveredDevice } from './types.ts';

/** State events come in bursts at start-up; one reload serves a burst. */
const RELOAD_DEBOUNCE_MS = 300;
const enc = encodeURIComponent;

class CameraAdminState {
  list = $state<AdminCamera[]>([]);
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** Camera ids with a test in flight. */
  testing = $state<Record<string, boolean>>({});

  private reloadTimer: ReturnType<typeof setTimeout> | null = null;
  private active = false;
  private generation = 0;
  private readonly duringLoad = new Map<string, { state: CameraState; reason: string | null }>();

  /** Whether the admin page is shown (the socket reloads the list after it reconnects). */
  get isActive(): boolean {
    return this.active;
  }

  /** The admin page is shown. */
  start(): void {
    this.active = true;
    void this.load();
  }

  stop(): void {
    this.active = false;
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
  }

  /**
   * Loads the list. A state change that arrives while the request is under way may be newer than the
   * answer: it is applied again on top of it. An answer overtaken by a later load is dropped.
   */
  async load(): Promise<void> {
    this.loading = true;
    const generation = ++this.generation;
    this.duringLoad.clear();
    try {
      const list = await get<AdminCamera[]>('/api/cameras');
      if (generation !== this.generation) return;
      for (const camera of list) {
        const newer = this.duringLoad.get(camera.id);
        if (newer) Object.assign(camera, newer);
      }
      this.list = list;
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = e instanceof ApiError ? e : new ApiError(0, 'unknown', String(e));
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  /** Reload once after a burst of state changes: a probed camera has fresh facts (codec, clock offset). */
  private scheduleReload(): void {
    if (!this.active || this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      if (this.active) void this.load();
    }, RELOAD_DEBOUNCE_MS);
  }

  applyState(cameraId: string, state: CameraState, reason: string | null): void {
    if (this.loading) this.duringLoad.set(cameraId, { state, reason });
    const camera = this.list.find((c) => c.id === cameraId);
    if (!camera) return;
    camera.state = state;
    camera.reason = reason;
    if (state === 'online' || state === 'unsupported') this.scheduleReload();
  }

  async create(input: CameraInput): Promise<AdminCamera> {
    const camera = await post<AdminCamera>('/api/cameras', input);
    this.upsert(camera);
    return camera;
  }

  async update(id: string, input: CameraInput): Promise<AdminCamera> {
    const camera = await put<AdminCamera>(`/api/cameras/${enc(id)}`, input);
    this.upsert(camera);
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
