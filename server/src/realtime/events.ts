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
  /** A camera's audio level over about the last second (RMS dBFS; −120 is digital silence). */
  'camera:level': (level: { cameraId: string; dbfs: number; at: string }) => void;
  /** Rooms or their cameras were edited: fetch GET /api/rooms again. */
  'rooms:changed': () => void;
  /** A session of a room the user may see (casework roles only) changed state. */
  'session:state': (change: SessionStateEvent) => void;
  /** A mark was added to such a session, or corrected. */
  'session:mark': (event: SessionMarkEvent) => void;
  /** A recording gap opened or closed on a camera of a room the user may see (wall alarms). */
  'recording:interruption': (event: InterruptionEvent) => void;
  /**
   * The free space of the data directory changed level (sent to every login, and once after
   * connecting): `warning` alarms, `refuse` refuses new sessions, `floor` stops recordings.
   */
  'disk:level': (status: DiskLevelEvent) => void;
  /** A live viewer's stream ended on the server side (worker restart, camera gone): watch again. */
  'live:ended': (event: { viewerId: string; reason: string }) => void;
  /** An evidence export of this user advanced, finished or failed (progress 0…1). */
  'export:progress': (event: ExportProgressEvent) => void;
  /** The integrity scrub found stored evidence that no longer matches its hash, or missing (admins, supervisors). */
  'evidence:integrity': (alarm: IntegrityAlarmEvent) => void;
}

export interface DiskLevelEvent {
  level: 'ok' | 'warning' | 'refuse' | 'floor';
  freeBytes: number;
  totalBytes: number;
  at: string;
}

export interface InterruptionEvent {
  sessionId: string;
  roomId: string | null;
  cameraId: string;
  cause: string;
  startedAt: string;
  /** null while the gap is open. */
  endedAt: string | null;
}

/** Which stream of a camera a live viewer wants: grid tiles take `sub`, an enlarged room `main`. */
export type LiveStreamKind = 'main' | 'sub';

/** A STUN or TURN server for the browser's RTCPeerConnection (RTCIceServer). */
export interface LiveIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type LiveAck<T> = (result: ({ ok: true } & T) | { ok: false; error: { code: string; message: string } }) => void;

/** `scheduled → recording ⇄ recess → ended → sealed`. */
export type SessionState = 'scheduled' | 'recording' | 'recess' | 'ended' | 'sealed';

/** A derived stage: a checklist item from one instant to another (`to` null while it runs). */
export interface StageInfo {
  item: number;
  from: string;
  to: string | null;
}

export interface SessionStateEvent {
  sessionId: string;
  caseId: string;
  title: string;
  /** null for a portable device. */
  roomId: string | null;
  from: SessionState | null;
  state: SessionState;
  /** Server time of the change, ISO UTC with ms. */
  at: string;
  actor: string;
  /** The recess reason. */
  reason: string | null;
  currentStage: StageInfo | null;
}

/** A mark with its corrections applied: what the hearing record says now. */
export interface EffectiveMark {
  id: string;
  item: number | null;
  note: string | null;
  effectiveAt: string;
  delayed: boolean;
  voided: boolean;
  /** Ids of the corrections applied, oldest first. */
  corrections: string[];
}

export interface SessionMarkEvent {
  sessionId: string;
  roomId: string | null;
  /** The mark with its corrections applied. */
  mark: EffectiveMark;

  currentStage: StageInfo | null;
}

export interface ClientToServerEvents {
  /** Clock offset measurement: the server acknowledges with its own time in epoch ms. */
  'clock:ping': (clientTime: number, ack: (serverTime: number) => void) => void;
  /**
   * WebRTC: ask to watch a camera. The server answers with a complete offer (all its candidates in
   * the SDP, no trickle): 403 `forbidden` for a role or room the user may not watch, 404 for an
   * unknown camera, 503 `live_unavailable` while the live worker restarts.
   */
  'live:watch': (
    request: { cameraId: string; stream: LiveStreamKind },
    ack: LiveAck<{ viewerId: string; offer: { type: 'offer'; sdp: string }; /** `live.iceServers` for the browser's peer ([] on a LAN). */ iceServers: LiveIceServer[] }>,
  ) => void;
  /** WebRTC: the browser's complete answer (gathering finished) for a viewer. */
  'live:answer': (request: { viewerId: string; answer: { type: 'answer'; sdp: string } }, ack: LiveAck<object>) => void;
  /** Stop watching (also done for every viewer of a socket when it disconnects). */
  'live:stop': (request: { viewerId: string }) => void;
}

/** Server-side data kept per socket. */
export interface SocketData {
  username: string;
  sessionToken: string;
}

export interface ExportProgressEvent {
  exportId: string;
  sessionId: string;
  state: 'queued' | 'running' | 'ready' | 'failed';
  progress: number;
}

export interface IntegrityAlarmEvent {
  /** When the scrub ran. */
  at: string;
  /** Files re-hashed. */
  checked: number;
  findings: {
    /** The sealed session the file belongs to; null for a body-camera file (then importId names it). */
    sessionId: string | null;
    importId?: string;
    path: string;
    problem: 'missing' | 'mismatch' | 'unreadable';
    expected: string;
    actual: string | null;
  }[];
  /** Files removed by the approved destruction procedure (not checked, not an alarm); the hash they had. */
  destroyed?: { sessionId: string; path: string; sha256: string }[];
}
