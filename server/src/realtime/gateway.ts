import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { AuthService, AuthUser } from '../auth/auth-service.ts';
import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { CameraStates, CameraStateChange } from '../cameras/camera-state.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import { readCookie, SESSION_COOKIE } from '../api/http-context.ts';
import type { Logger } from '../shared/logger.ts';
import type { ClientToServerEvents, DiskLevelEvent, ExportProgressEvent, IntegrityAlarmEvent, InterruptionEvent, ServerToClientEvents, SessionMarkEvent, SessionStateEvent, SocketData } from './events.ts';

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

const roomChannel = (roomId: string) => `room:${roomId}`;
/** Session events of a room: casework roles only (三员分立: administrators see no casework). */
const caseworkChannel = (roomId: string) => `casework:${roomId}`;
/** Session events of sessions without a room (portable devices): supervisor and legal. */
const PORTABLE_SESSIONS = 'casework:portable';
/** The admin sees every camera, including those placed in no room. */
const ALL_CAMERAS = 'cameras:all';
const SESSION_RECHECK_MS = 60_000;

/**
 * socket.io on the HTTP server's port, authenticated by the same session cookie as the API. A socket
 * joins one channel per room its user may see; events about a room go only to that channel. Sockets
 * whose login session ends (logout, expiry, account disabled) are disconnected.
 */
export class RealtimeGateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  private readonly recheck: NodeJS.Timeout;
  private readonly onCameraState = (change: CameraStateChange) => this.emitCameraState(change);
  private closed = false;
  private cameraRooms: Map<string, string> | null = null;

  constructor(
    http: HttpServer,
    private readonly auth: AuthService,
    private readonly rooms: RoomRepository,
    private readonly cameraStates: CameraStates,
    private readonly log: Logger,
    /** The latest disk level, sent to each socket after it connects. */
    private readonly diskStatus: () => DiskLevelEvent | null = () => null,
  ) {
    this.io = new Server(http, { serveClient: false, cors: { origin: false } });
    this.io.use((socket, next) => {
      const token = readCookie(socket.request.headers.cookie, SESSION_COOKIE);
      const user = this.auth.authenticate(token);
      if (!user) return next(new Error('unauthorized'));
      if (user.mustChangePassword) return next(new Error('password_change_required'));
      socket.data = { username: user.username, sessionToken: user.sessionToken };
      next();
    });
    this.io.on('connection', (socket) => this.accept(socket));
    cameraStates.on('change', this.onCameraState);
    this.recheck = setInterval(() => this.dropEndedSessions(), SESSION_RECHECK_MS);
    this.recheck.unref();
  }

  /** Rooms or cameras were edited: re-join each socket to the rooms it may now see, and tell everyone. */
  roomsChanged(): void {
    this.cameraRooms = null;
    for (const socket of this.io.sockets.sockets.values()) {
      const user = this.auth.authenticate(socket.data.sessionToken);
      if (user) this.joinRooms(socket, user);
    }
    this.io.emit('rooms:changed');
  }

  /** A session changed state: to whoever may watch its room. */
  sessionState(event: SessionStateEvent): void {
    this.io.to(event.roomId ? caseworkChannel(event.roomId) : PORTABLE_SESSIONS).emit('session:state', event);
  }

  /** A mark was added or corrected: to whoever may watch the session's room. */
  sessionMark(event: SessionMarkEvent): void {
    this.io.to(event.roomId ? caseworkChannel(event.roomId) : PORTABLE_SESSIONS).emit('session:mark', event);
  }

  /** The data directory's free space changed level: every login hears it (alarms, pre-flight). */
  diskLevel(status: DiskLevelEvent): void {
    this.io.emit('disk:level', status);
  }

  /** A recording gap opened or closed: to whoever may watch the session's room. */
  recordingInterruption(event: InterruptionEvent): void {
    this.io.to(event.roomId ? caseworkChannel(event.roomId) : PORTABLE_SESSIONS).emit('recording:interruption', event);
  }

  /** An export's progress: to the sockets of the user who asked for it. */
  exportProgress(username: string, event: ExportProgressEvent): void {
    for (const socket of this.io.sockets.sockets.values()) {
      if (socket.data.username === username) socket.emit('export:progress', event);
    }
  }

  /** Stored evidence failed the integrity scrub: to every admin and supervisor connected. */
  integrityAlarm(alarm: IntegrityAlarmEvent): void {
    for (const socket of this.io.sockets.sockets.values()) {
      const user = this.auth.authenticate(socket.data.sessionToken);
      if (user && hasAnyRole(user, ['admin', 'supervisor'])) socket.emit('evidence:integrity', alarm);
    }
  }

  /** Disconnects every socket of a login session (called at logout). */
  endSession(sessionToken: string): void {
    for (const socket of this.io.sockets.sockets.values()) {
      if (socket.data.sessionToken === sessionToken) socket.disconnect(true);
    }
  }

  /** Disconnects every socket. The HTTP server is its owner's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.recheck);
    this.cameraStates.off('change', this.onCameraState);
    this.io.disconnectSockets(true);
    this.io.engine.close();
  }

  private accept(socket: GatewaySocket): void {
    const user = this.auth.authenticate(socket.data.sessionToken);
    if (!user) {
      socket.disconnect(true);
      return;
    }
    this.joinRooms(socket, user);
    socket.on('clock:ping', (_clientTime, ack) => {
      if (typeof ack === 'function') ack(Date.now());
    });
    socket.emit('server:hello', { serverTime: new Date().toISOString(), username: user.username });
    const disk = this.diskStatus();
    if (disk) socket.emit('disk:level', disk);
    this.log.debug({ username: user.username, socket: socket.id }, 'socket connected');
  }

  private joinRooms(socket: GatewaySocket, user: AuthUser): void {
    const configuring = hasAnyRole(user, ['admin', 'security']);
    const casework = hasAnyRole(user, ['clerk', 'supervisor', 'legal']);
    for (const channel of socket.rooms) if (channel.startsWith('room:') || channel.startsWith('casework:')) void socket.leave(channel);
    if (hasAnyRole(user, ['admin'])) void socket.join(ALL_CAMERAS);
    if (hasAnyRole(user, ['supervisor', 'legal'])) void socket.join(PORTABLE_SESSIONS);
    for (const room of this.rooms.list()) {
      if (configuring || (!hasAnyRole(user, ['auditor']) && canAccessRoom(user, room.id))) void socket.join(roomChannel(room.id));
      if (casework && canAccessRoom(user, room.id)) void socket.join(caseworkChannel(room.id));
    }
  }

  /** Audio meters: to whoever watches the camera's room. */
  cameraLevel(level: { cameraId: string; dbfs: number; at: string }): void {
    const roomId = this.roomOfCamera(level.cameraId);
    if (roomId) this.io.to(roomChannel(roomId)).emit('camera:level', level);
  }

  private emitCameraState(change: CameraStateChange): void {
    const roomId = this.roomOfCamera(change.cameraId);
    this.io.to(roomId ? [roomChannel(roomId), ALL_CAMERAS] : ALL_CAMERAS).emit('camera:state', change);
  }

  /**
   * Which room a camera is placed in. Levels arrive every second per camera, so the placement is
   * read once and again only after rooms or cameras were edited (`roomsChanged`).
   */
  private roomOfCamera(cameraId: string): string | null {
    this.cameraRooms ??= new Map(this.rooms.list().flatMap((r) => r.cameras.map((c) => [c.id, r.id] as const)));
    return this.cameraRooms.get(cameraId) ?? null;
  }

  private dropEndedSessions(): void {
    for (const socket of this.io.sockets.sockets.values()) {
      if (!this.auth.authenticate(socket.data.sessionToken)) socket.disconnect(true);
    }
  }
}
