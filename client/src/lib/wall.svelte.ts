// What the supervisor wall shows besides video: the sessions recording or in recess (one per room,
// and those recorded with portable devices only), with case number, current stage, open
// interruptions and the devices recorded into them, kept current by socket events; the
// checklist's item texts; each camera's audio level. The server decides which rooms a user sees.
import { ApiError, get } from './api.ts';
import { live } from './live.svelte.ts';
import { rooms } from './rooms.svelte.ts';
import type { ChecklistRow } from './types.ts';
import type { InterruptionEvent, SessionState, StageInfo } from '../../../server/src/realtime/events.ts';

const ACTIVE: readonly SessionState[] = ['recording', 'recess'];

/** One recording gap of a camera (or of the whole session: `cameraId` null). */
export interface WallInterruption {
  cameraId: string | null;
  cause: string;
  startedAt: string;
  endedAt: string | null;
}

/** A portable device (执法记录仪) recorded into a session: watched over FLV. */
export interface WallDevice {
  id: string;
  name: string;
  officer: string;
  badgeNumber: string;
}

export interface WallSession {
  id: string;
  roomId: string | null;
  title: string;
  caseNumber: string;
  state: SessionState;
  startedAt: string | null;
  currentStage: StageInfo | null;
  interruptions: WallInterruption[];
  devices: WallDevice[];
}

interface SessionListRow {
  id: string;
  roomId: string | null;
  title: string;
  state: SessionState;
  startedAt: string | null;
  currentStage: StageInfo | null;
}

interface SessionDetail extends SessionListRow {
  caseNumber: string;
  interruptions: { cameraId: string | null; cause: string; startedAt: string; endedAt: string | null }[];
}

class WallState {
  sessions = $state<WallSession[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** Checklist item → what is recorded (记录事项). */
  items = $state<Record<number, string>>({});
  /** Camera id → the last audio level in dBFS (about once a second per camera). */
  levels = $state<Record<string, number>>({});
  /** Wall-clock ms, ticking once a second for the elapsed times. */
  now = $state(Date.now());

  private users = 0;
  private stopFns: (() => void)[] = [];
  private loading = false;
  private again = false;

  /** The wall page is shown; returns its stop. */
  start(): () => void {
    if (this.users++ === 0) {
      const ticker = setInterval(() => (this.now = Date.now()), 1_000);
      this.stopFns = [
        () => clearInterval(ticker),
        live.on('session:state', (e) => {
          const known = this.sessions.find((s) => s.id === e.sessionId);
          if (!ACTIVE.includes(e.state)) {
            if (known) this.sessions = this.sessions.filter((s) => s.id !== e.sessionId);
            return;
          }
          if (known) {
            known.state = e.state;
            known.currentStage = e.currentStage;
          } else void this.load(); // a new session: its case number comes with GET /api/sessions/:id
        }),
        live.on('session:mark', (e) => {
          const known = this.sessions.find((s) => s.id === e.sessionId);
          if (known) known.currentStage = e.currentStage;
          else if (this.loading) this.again = true;
        }),
        live.on('recording:interruption', (e) => this.applyInterruption(e)),
        live.on('camera:level', (e) => {
          this.levels[e.cameraId] = e.dbfs;
        }),
        live.onConnect(() => void this.load()),
      ];
      void this.loadChecklist();
      if (!rooms.loaded && !rooms.loading) void rooms.load();
      void this.load();
    }
    return () => {
      if (--this.users > 0) return;
      for (const stop of this.stopFns) stop();
      this.stopFns = [];
    };
  }

  /** The session running in a room, if any. */
  forRoom(roomId: string): WallSession | undefined {
    return this.sessions.find((s) => s.roomId === roomId);
  }

  stageText(item: number): string {
    return this.items[item] ?? '';
  }

  /** Sessions recording or in recess, each with its case number and interruptions. */
  async load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      do {
        this.again = false;
        const lists = await Promise.all(ACTIVE.map((state) => get<SessionListRow[]>(`/api/sessions?state=${state}`)));
        const details = await Promise.all(
          lists.flat().map(async (s) => {
            const path = `/api/sessions/${encodeURIComponent(s.id)}`;
            // Devices are an addition: a server without them, or a refusal, leaves the cameras.
            const [detail, devices] = await Promise.all([get<SessionDetail>(path), get<WallDevice[]>(`${path}/devices`).catch(() => [])]);
            return { ...detail, devices };
          }),
        );
        this.sessions = details
          .filter((d) => ACTIVE.includes(d.state))
          .map((d) => ({
            id: d.id,
            roomId: d.roomId,
            title: d.title,
            caseNumber: d.caseNumber,
            state: d.state,
            startedAt: d.startedAt,
            currentStage: d.currentStage,
            interruptions: d.interruptions.map(({ cameraId, cause, startedAt, endedAt }) => ({ cameraId, cause, startedAt, endedAt })),
            devices: d.devices.map(({ id, name, officer, badgeNumber }) => ({ id, name, officer, badgeNumber })),
          }));
      } while (this.again);
      this.error = null;
      this.loaded = true;
    } catch (e) {
      this.error = e instanceof ApiError ? e : new ApiError(0, 'unknown', String(e));
    } finally {
      this.loading = false;
    }
  }

  private async loadChecklist(): Promise<void> {
    if (Object.keys(this.items).length) return;
    try {
      const rows = await get<ChecklistRow[]>('/api/checklist');
      this.items = Object.fromEntries(rows.map((r) => [r.item, r.matter]));
    } catch {
      // the stage shows its number only
    }
  }

  private applyInterruption(e: InterruptionEvent): void {
    const session = this.sessions.find((s) => s.id === e.sessionId);
    if (!session) {
      if (this.loading) this.again = true;
      return;
    }
    // The closing event may place the start more exactly than the opening one did (from the last
    // segment rather than the moment the gap was noticed): it closes the camera's open gap either way.
    const same =
      session.interruptions.find((i) => i.cameraId === e.cameraId && i.startedAt === e.startedAt) ??
      (e.endedAt !== null ? session.interruptions.find((i) => i.cameraId === e.cameraId && i.endedAt === null) : undefined);
    if (same) Object.assign(same, { cause: e.cause, startedAt: e.startedAt, endedAt: e.endedAt });
    else session.interruptions.push({ cameraId: e.cameraId, cause: e.cause, startedAt: e.startedAt, endedAt: e.endedAt });
  }
}

export const wall = new WallState();

/** `3723000` → `1:02:03`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** A level meter's fill (0–1) for a dBFS value: −60 dBFS and below is empty. */
export function levelFraction(dbfs: number | undefined): number {
  if (dbfs === undefined || !Number.isFinite(dbfs)) return 0;
  return Math.min(1, Math.max(0, (dbfs + 60) / 60));
}
