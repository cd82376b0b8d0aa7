// Rooms and their cameras from GET /api/rooms, kept current by socket events.
import { get, ApiError } from './api.ts';
import type { CameraState, Room } from './types.ts';

class RoomsState {
  list = $state<Room[]>([]);
  loading = $state(false);
  loaded = $state(false);
  error = $state<ApiError | null>(null);

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.list = await get<Room[]>('/api/rooms');
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = e instanceof ApiError ? e : new ApiError(0, 'unknown', String(e));
    } finally {
      this.loading = false;
    }
  }

  applyCameraState(cameraId: string, state: CameraState): void {
    for (const room of this.list) {
      const camera = room.cameras.find((c) => c.id === cameraId);
      if (camera) camera.state = state;
    }
  }

  clear(): void {
    this.list = [];
    this.loaded = false;
    this.error = null;
  }
}

export const rooms = new RoomsState();
