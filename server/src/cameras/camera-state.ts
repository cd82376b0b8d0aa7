import { EventEmitter } from 'node:events';
import type { CameraState } from '../realtime/events.ts';

export type { CameraState };
export const CAMERA_STATES = [
  'unknown',
  'probing',
  'online',
  'unauthorized',
  'unreachable',
  'unsupported',
] as const satisfies readonly CameraState[];

export interface CameraStateChange {
  cameraId: string;
  state: CameraState;
  /** Why the camera is in this state, in words an operator can act on; null when online. */
  reason: string | null;
}

/**
 * The current health state of every camera, in memory; `unknown` until probed. The probing itself
 * (ONVIF, RTSP) sets states here and everyone who shows them listens to `change`.
 */
export class CameraStates extends EventEmitter<{ change: [CameraStateChange] }> {
  private readonly states = new Map<string, CameraStateChange>();

  get(cameraId: string): CameraStateChange {
    return this.states.get(cameraId) ?? { cameraId, state: 'unknown', reason: null };
  }

  set(change: CameraStateChange): void {
    const previous = this.states.get(change.cameraId);
    if (previous?.state === change.state && previous.reason === change.reason) return;
    this.states.set(change.cameraId, change);
    this.emit('change', change);
  }
}
