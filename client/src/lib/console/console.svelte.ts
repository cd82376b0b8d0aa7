// The clerk console's state: the room, its session (read from the server and kept current by socket
// events), the checklist and templates, audio levels, standing alarms and the mark queue. The server
// is the record: every change is made there and read back; the console never keeps its own version
// of a session. Closing the page stops nothing: reopening it finds the room's running session.
import { ApiError, get, post } from '../api.ts';
import { live } from '../live.svelte.ts';
import { rooms } from '../rooms.svelte.ts';
import type { ChecklistRow, Room } from '../types.ts';
import { Alarms } from './alarms.svelte.ts';
import { clock } from './clock.svelte.ts';
import { markQueue } from './mark-queue.svelte.ts';
import type { EffectiveMark, Finding, ProcedureRow, SessionDetail, SessionRow, SessionState } from './types.ts';

const ROOM_KEY = 'hr.console.room';
const SESSION_KEY = 'hr.console.session';
/** Audio quieter than this for longer than QUIET_ALARM_S raises an alarm. */
export const QUIET_DBFS = -60;
export const QUIET_ALARM_S = 30;
/** A camera or this console whose clock is off by more than this raises an alarm. */
export const SKEW_ALARM_MS = 2_000;
const CLOCK_REMEASURE_MS = 60_000;

export type Phase = 'setup' | 'preflight' | 'run' | 'after' | 'sealed';

const RUNNING: readonly SessionState[] = ['recording', 'recess'];

function phaseOf(state: SessionState | undefined): Phase {
  switch (state) {
    case 'scheduled':
      return 'preflight';
    case 'recording':
    case 'recess':
      return 'run';
    case 'ended':
      return 'after';
    case 'sealed':
      return 'sealed';
    default:
      return 'setup';
  }
}

function remembered(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // this page only
  }
}

export interface Level {
  dbfs: number;
  at: number;
}

class ConsoleState {
  roomId = $state<string | null>(remembered(ROOM_KEY));
  session = $state<SessionDetail | null>(null);
  /** Sessions of the room not yet sealed (to open one). */
  roomSessions = $state<SessionRow[]>([]);
  checklist = $state<Record<number, ChecklistRow>>({});
  procedures = $state<ProcedureRow[]>([]);
  levels = $state<Record<string, Level>>({});
  /** Ticks once a second (elapsed and running times). */
  now = $state(Date.now());
  loading = $state(false);
  error = $state<ApiError | null>(null);
  /** A change of state under way (start, stop, recess, …). */
  busy = $state(false);
  readonly alarms = new Alarms();
  private quietSince: Record<string, number> = {};
  private users = 0;
  private stops: (() => void)[] = [];

  readonly room: Room | null = $derived(rooms.list.find((r) => r.id === this.roomId) ?? null);
  readonly phase: Phase = $derived(phaseOf(this.session?.state));
  readonly procedure: ProcedureRow | null = $derived(this.procedures.find((p) => p.id === this.session?.procedure) ?? null);
  readonly pending = $derived(this.session ? markQueue.items.filter((e) => e.sessionId === this.session?.id) : []);

  /** The console page is shown; returns its stop. */
  start(): () => void {
    if (this.users++ === 0) {
      const ticker = setInterval(() => this.tick(), 1_000);
      const remeasure = setInterval(() => void clock.measure(), CLOCK_REMEASURE_MS);
      markQueue.onDelivered = (sessionId, mark) => this.applyMark(sessionId, mark);
      this.stops = [
        () => clearInterval(ticker),
        () => clearInterval(remeasure),
        markQueue.keepTrying(),
        live.on('session:state', (e) => {
          if (e.sessionId === this.session?.id) void this.reload();
          else if (e.roomId === this.roomId) void this.loadRoomSessions();
        }),
        live.on('session:mark', (e) => {
          if (e.sessionId !== this.session?.id) return;
          this.applyMark(e.sessionId, e.mark);
          this.session.currentStage = e.currentStage;
        }),
        live.on('recording:interruption', (e) => {
          if (e.sessionId !== this.session?.id) return;
          // One condition per camera: the close names the gap's start as stored, which may differ from the open's.
          const key = `interruption:${e.cameraId}`;
          if (e.endedAt === null) this.alarms.set(key, 'console.alarm.interruption', { camera: this.cameraName(e.cameraId), cause: e.cause });
          else this.alarms.clear(key);
          void this.reload();
        }),
        live.on('camera:level', (e) => {
          this.levels[e.cameraId] = { dbfs: e.dbfs, at: Date.now() };
          if (e.dbfs >= QUIET_DBFS) delete this.quietSince[e.cameraId];
          else this.quietSince[e.cameraId] ??= Date.now();
        }),
        live.onConnect(() => {
          void clock.measure().then(() => markQueue.flush());
          void this.reload();
        }),
      ];
      if (live.online) void clock.measure().then(() => markQueue.flush());
      void markQueue.flush();
      if (!rooms.loaded && !rooms.loading) void rooms.load();
      void this.loadReference();
      void this.open();
    }
    return () => {
      if (--this.users > 0) return;
      for (const stop of this.stops) stop();
      this.stops = [];
    };
  }

  /** Picks the room and opens its running session, if any. */
  selectRoom(id: string): void {
    if (this.session && RUNNING.includes(this.session.state)) return; // a running session keeps its room
    this.roomId = id;
    remember(ROOM_KEY, id);
    this.session = null;
    remember(SESSION_KEY, null);
    this.alarms.reset();
    void this.open();
  }

  /** The room shown by default (none picked yet): remembered, and its sessions listed. */
  adoptRoom(id: string): void {
    if (this.roomId === id || this.session) return;
    this.roomId = id;
    remember(ROOM_KEY, id);
    void this.loadRoomSessions().catch(() => {});
  }

  /** Reopening: the session kept from last time, else the room's running session. */
  async open(): Promise<void> {
    this.loading = true;
    try {
      const keptId = remembered(SESSION_KEY);
      if (keptId) {
        try {
          const kept = await get<SessionDetail>(`/api/sessions/${encodeURIComponent(keptId)}`);
          if (!this.roomId || kept.roomId === this.roomId) {
            this.setSession(kept);
            return;
          }
        } catch (e) {
          if (!(e instanceof ApiError) || e.status === 0) throw e;
          remember(SESSION_KEY, null); // gone or not ours any more
        }
      }
      if (this.roomId) {
        await this.loadRoomSessions();
        const running = this.roomSessions.find((s) => RUNNING.includes(s.state));
        if (running) await this.openSession(running.id);
      } else {
        // A browser that never picked a room (another computer): any running session of the clerk's rooms.
        const list = await get<SessionRow[]>('/api/sessions');
        const running = list.find((s) => s.roomId !== null && RUNNING.includes(s.state));
        if (running) await this.openSession(running.id);
      }
      this.error = null;
    } catch (e) {
      this.error = asApiError(e);
    } finally {
      this.loading = false;
    }
  }

  async loadRoomSessions(): Promise<void> {
    if (!this.roomId) {
      this.roomSessions = [];
      return;
    }
    const list = await get<SessionRow[]>(`/api/sessions?roomId=${encodeURIComponent(this.roomId)}`);
    this.roomSessions = list.filter((s) => s.state !== 'sealed');
  }

  async openSession(id: string): Promise<void> {
    this.setSession(await get<SessionDetail>(`/api/sessions/${encodeURIComponent(id)}`));
  }

  /** Leaves the session on screen (never stops it). */
  close(): void {
    this.session = null;
    remember(SESSION_KEY, null);
    this.alarms.reset();
    void this.loadRoomSessions().catch(() => {});
  }

  async reload(): Promise<void> {
    const id = this.session?.id;
    if (!id) return;
    try {
      const fresh = await get<SessionDetail>(`/api/sessions/${encodeURIComponent(id)}`);
      if (this.session?.id === id) this.setSession(fresh);
      this.error = null;
    } catch (e) {
      this.error = asApiError(e);
    }
  }

  /** Runs a state change; the answer is read back as the whole session. */
  async change(action: 'start' | 'stop' | 'resume' | 'seal' | 'recess', body: Record<string, unknown> = {}): Promise<void> {
    const id = this.session?.id;
    if (!id || this.busy) return;
    this.busy = true;
    try {
      await post(`/api/sessions/${encodeURIComponent(id)}/${action}`, body);
      await this.reload();
    } finally {
      this.busy = false;
    }
  }

  /** A stage or a note, queued first (see mark-queue). */
  mark(mark: { item: number } | { note: string }): void {
    if (!this.session) return;
    markQueue.add(this.session.id, mark);
  }

  async voidMark(markId: string, reason: string): Promise<void> {
    const id = this.session?.id;
    if (!id) return;
    const result = await post<{ mark: EffectiveMark }>(`/api/sessions/${encodeURIComponent(id)}/marks/${encodeURIComponent(markId)}/corrections`, {
      kind: 'void',
      reason,
    });
    this.applyMark(id, result.mark);
    await this.reload();
  }

  async explain(interruptionId: number, text: string): Promise<void> {
    const id = this.session?.id;
    if (!id) return;
    await post(`/api/sessions/${encodeURIComponent(id)}/interruptions/${interruptionId}/explanation`, { text });
    await this.reload();
  }

  async compliance(): Promise<Finding[]> {
    const id = this.session?.id;
    if (!id) return [];
    return (await get<{ findings: Finding[] }>(`/api/sessions/${encodeURIComponent(id)}/compliance`)).findings;
  }

  cameraName(cameraId: string | null): string {
    if (!cameraId) return '';
    return this.room?.cameras.find((c) => c.id === cameraId)?.name ?? cameraId;
  }

  matter(item: number): string {
    return this.checklist[item]?.matter ?? '';
  }

  private setSession(s: SessionDetail): void {
    if (this.session?.id !== s.id) this.alarms.reset();
    this.session = s;
    if (s.roomId && s.roomId !== this.roomId) {
      this.roomId = s.roomId;
      remember(ROOM_KEY, s.roomId);
    }
    remember(SESSION_KEY, s.id);
    // Gaps still open when the console (re)opens stand as alarms too.
    if (RUNNING.includes(s.state)) {
      for (const gap of s.interruptions) {
        if (gap.cameraId !== null && gap.endedAt === null) {
          this.alarms.set(`interruption:${gap.cameraId}`, 'console.alarm.interruption', { camera: this.cameraName(gap.cameraId), cause: gap.cause });
        }
      }
    }
  }

  private applyMark(sessionId: string, mark: EffectiveMark): void {
    const s = this.session;
    if (!s || s.id !== sessionId) return;
    const i = s.marks.findIndex((m) => m.id === mark.id);
    if (i >= 0) s.marks[i] = mark;
    else s.marks = [...s.marks, mark].sort((a, b) => Date.parse(a.effectiveAt) - Date.parse(b.effectiveAt));
  }

  private async loadReference(): Promise<void> {
    try {
      const [rows, procedures] = await Promise.all([get<ChecklistRow[]>('/api/checklist'), get<ProcedureRow[]>('/api/procedures')]);
      this.checklist = Object.fromEntries(rows.map((r) => [r.item, r]));
      this.procedures = procedures;
    } catch (e) {
      this.error = asApiError(e);
    }
  }

  /** Once a second: the clock for running times, and the conditions behind standing alarms. */
  private tick(): void {
    this.now = Date.now();
    const s = this.session;
    const room = this.room;
    if (!s || !room || !RUNNING.includes(s.state)) return;
    const offline = new Set<string>();
    const quiet = new Set<string>();
    for (const camera of room.cameras) {
      if (camera.state !== 'online') {
        const key = `camera-state:${camera.id}`;
        offline.add(key);
        this.alarms.set(key, 'console.alarm.cameraState', { camera: camera.name, state: camera.state });
      }
      const since = this.quietSince[camera.id];
      const level = this.levels[camera.id];
      // No level for a while counts as silence too (the meter stopped).
      const silentFor = since !== undefined ? this.now - since : level ? this.now - level.at : 0;
      if (silentFor > QUIET_ALARM_S * 1000) {
        const key = `quiet:${camera.id}`;
        quiet.add(key);
        this.alarms.set(key, 'console.alarm.quiet', { camera: camera.name, s: QUIET_ALARM_S, dbfs: QUIET_DBFS }, 'warning');
      }
    }
    this.alarms.clearOthers('camera-state:', offline);
    this.alarms.clearOthers('quiet:', quiet);
    for (const entry of s.clock) {
      if (entry.subject === 'server') {
        if (entry.synchronized === false) this.alarms.set('skew:server', 'console.alarm.serverUnsynced', {}, 'warning');
      } else if (entry.offsetMs !== null && Math.abs(entry.offsetMs) > SKEW_ALARM_MS) {
        this.alarms.set(`skew:${entry.subject}`, 'console.alarm.cameraSkew', { camera: this.cameraName(entry.subject), ms: entry.offsetMs }, 'warning');
      }
    }
    if (clock.offsetMs !== null && Math.abs(clock.offsetMs) > SKEW_ALARM_MS) {
      this.alarms.set('skew:console', 'console.alarm.consoleSkew', { ms: clock.offsetMs }, 'warning');
    } else this.alarms.clear('skew:console');
  }
}

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(0, 'unknown', String(e));
}

export const consoleState = new ConsoleState();
