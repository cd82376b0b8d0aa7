// The socket.io connection (same origin, default path), opened after login.
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../../server/src/realtime/events.ts';
import { cameraAdmin } from './cameras.svelte.ts';
import { rooms } from './rooms.svelte.ts';

type HrSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

class Live {
  online = $state(false);
  private socket: HrSocket | null = null;

  connect(): void {
    if (this.socket) return;
    // WebSocket first (every LAN browser has it); long-polling only where a proxy breaks WebSockets.
    const socket: HrSocket = io({ withCredentials: true, transports: ['websocket', 'polling'] });
    socket.on('connect', () => {
      this.online = true;
      // Changes before this socket joined its rooms (or while it was away) were not delivered: read again.
      if (rooms.loaded) void rooms.load();
      if (cameraAdmin.isActive) void cameraAdmin.load();
    });
    socket.on('disconnect', () => {
      this.online = false;
    });
    socket.on('camera:state', (change) => {
      rooms.applyCameraState(change.cameraId, change.state);
      cameraAdmin.applyState(change.cameraId, change.state, change.reason);
    });
    socket.on('rooms:changed', () => {
      if (rooms.loaded) void rooms.load();
      if (cameraAdmin.loaded) void cameraAdmin.load();
    });
    this.socket = socket;
  }

  disconnect(): void {
    this.socket?.disconnect();
    this.socket = null;
    this.online = false;
  }
}

export const live = new Live();
