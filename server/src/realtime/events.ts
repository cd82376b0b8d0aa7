/**
 * The socket.io event maps, shared by server and client. This file imports nothing so the client can
 * use it as it is.
 */

/** A camera's health, as in CONTRACTS.md. */
export type CameraState = 'unknown' | 'probing' | 'online' | 'unauthorized' | 'unreachable' | 'unsupported';

export interface ServerToClientEvents {
  /** Sent once after a connection is accepted. */
  'server:hello': (hello: { serverTime: string; username: string }) => void;
  /** A camera of a room the user may see changed state. */
  'camera:state': (change: { cameraId: string; state: CameraState; reason: string | null }) => void;
  /** Rooms or their cameras were edited: fetch GET /api/rooms again. */
  'rooms:changed': () => void;
}

export interface ClientToServerEvents {
  /** Clock offset measurement: the server acknowledges with its own time in epoch ms. */
  'clock:ping': (clientTime: number, ack: (serverTime: number) => void) => void;
}

/** Server-side data kept per socket. */
export interface SocketData {
  username: string;
  sessionToken: string;
}
