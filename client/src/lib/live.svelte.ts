// The socket.io connection (same origin, default path), opened after login. Pages subscribe to its
// events through `on` (kept across logins and reconnects) and ask for live video through `watch`.
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, DiskLevelEvent, LiveStreamKind, ServerToClientEvents } from '../../../server/src/realtime/events.ts';
import { cameraAdmin } from './cameras.svelte.ts';
import { rooms } from './rooms.svelte.ts';

type HrSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type EventName = keyof ServerToClientEvents;
type Listener = (...args: never[]) => void;

/** How long a live signalling request may take before it counts as failed. */
const ACK_TIMEOUT_MS = 8_000;

export interface LiveError {
  code: string;
  message: string;
}

export interface WatchOffer {
  viewerId: string;
  offer: { type: 'offer'; sdp: string };
  /** Not sent today (a LAN product); used when the server ever sends them. */
  iceServers?: RTCIceServer[];
}

export type LiveResult<T> = ({ ok: true } & T) | { ok: false; error: LiveError };

class Live {
  online = $state(false);
  /** The data directory's free-space level (the server sends it after connecting and on change). */
  disk = $state<DiskLevelEvent | null>(null);
  private socket: HrSocket | null = null;
  private readonly listeners = new Map<EventName, Set<Listener>>();
  private readonly connectListeners = new Set<() => void>();

  connect(): void {
    if (this.socket) return;
    // WebSocket first (every LAN browser has it); long-polling only where a proxy breaks WebSockets.
    const socket: HrSocket = io({ withCredentials: true, transports: ['websocket', 'polling'] });
    socket.on('connect', () => {
      this.online = true;
      // Changes before this socket joined its rooms (or while it was away) were not delivered: read again.
      if (rooms.loaded) void rooms.load();
      if (cameraAdmin.isActive) void cameraAdmin.load();
      for (const listener of [...this.connectListeners]) safely(listener);
    });
    socket.on('disconnect', () => {
      this.online = false;
    });
    socket.on('camera:state', (change) => {
      rooms.applyCameraState(change.cameraId, change.state);
      cameraAdmin.applyState(change.cameraId, change.state, change.reason);
    });
    socket.on('disk:level', (status) => {
      this.disk = status;
    });
    socket.on('rooms:changed', () => {
      if (rooms.loaded) void rooms.load();
      if (cameraAdmin.loaded) void cameraAdmin.load();
    });
    for (const [event, set] of this.listeners) for (const listener of set) this.attach(socket, event, listener);
    this.socket = socket;
  }

  disconnect(): void {
    this.socket?.disconnect();
    this.socket = null;
    this.online = false;
  }

  /** Listen to a server event on this and every later connection; returns the unsubscribe. */
  on<E extends EventName>(event: E, listener: ServerToClientEvents[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    if (this.socket) this.attach(this.socket, event, listener as Listener);
    return () => {
      set.delete(listener as Listener);
      (this.socket as unknown as { off(e: string, l: Listener): void } | null)?.off(event, listener as Listener);
    };
  }

  /** Called after every (re)connection: whatever the server held for the old socket is gone. */
  onConnect(listener: () => void): () => void {
    this.connectListeners.add(listener);
    return () => this.connectListeners.delete(listener);
  }

  /** Ask the server for a WebRTC offer for one camera. */
  watch(cameraId: string, stream: LiveStreamKind): Promise<LiveResult<WatchOffer>> {
    return this.request((socket, ack) => socket.emit('live:watch', { cameraId, stream }, ack));
  }

  /** Send the browser's complete answer for a viewer. */
  answer(viewerId: string, sdp: string): Promise<LiveResult<object>> {
    return this.request((socket, ack) => socket.emit('live:answer', { viewerId, answer: { type: 'answer', sdp } }, ack));
  }

  /** clock:ping: the server's clock in epoch ms, or null when not connected or no answer in time. */
  serverTime(): Promise<number | null> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), ACK_TIMEOUT_MS);
      socket.emit('clock:ping', Date.now(), (serverTime) => {
        clearTimeout(timer);
        resolve(typeof serverTime === 'number' ? serverTime : null);
      });
    });
  }

  stop(viewerId: string): void {
    if (this.socket?.connected) this.socket.emit('live:stop', { viewerId });
  }

  private request<T>(send: (socket: HrSocket, ack: (result: LiveResult<T>) => void) => void): Promise<LiveResult<T>> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve({ ok: false, error: { code: 'offline', message: 'not connected' } });
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ ok: false, error: { code: 'timeout', message: 'no answer from the server' } }), ACK_TIMEOUT_MS);
      send(socket, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
    });
  }

  private attach(socket: HrSocket, event: EventName, listener: Listener): void {
    (socket as unknown as { on(e: string, l: Listener): void }).on(event, listener);
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    console.warn('live listener failed', e);
  }
}

export const live = new Live();
