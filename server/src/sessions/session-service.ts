import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../audit/audit-log.ts';
import type { User } from '../auth/user-repository.ts';
import type { CaseService } from '../cases/case-service.ts';
import type { Checklist, Procedure } from '../checklist/checklist.ts';
import type { RoomRepository } from '../rooms/room-repository.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';
import { badRequest, conflict, forbidden, notFound, type Text } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { maskIdNumber } from './identity-number.ts';
import { placeMark } from './mark-timing.ts';
import { canReadSession, canRunSession, seesIdNumbers } from './session-access.ts';
import type { SessionFilter, SessionRepository } from './session-repository.ts';
import {
  noLifecycleHooks,
  OFFICER_ROLES,
  RECESS_CAUSE,
  type CorrectionKind,
  type CorrectionRecord,
  type EffectiveMarkView,
  type Interruption,
  type MarkRecord,
  type ParticipantInput,
  type SessionLifecycleHooks,
  type SessionPublisher,
  type SessionRecord,
  type SessionState,
  type SessionView,
  type StageView,
  type StateChange,
} from './session.types.ts';
import { applyCorrections, stageAt, stagesOf, type CorrectionInput, type MarkInput, type Stage } from './stages.ts';

/** Who asks: the logged-in user and where from. */
export interface Caller {
  user: Pick<User, 'username' | 'roles' | 'rooms'>;
  ip: string | null;
}

export interface SessionInput {
  caseId?: string | undefined;
  caseNumber?: string | undefined;
  title: string;
  procedure: string;
  roomId?: string | undefined;
  participants: ParticipantInput[];
}

export interface MarkInputBody {
  item?: number | undefined;
  note?: string | undefined;
  clientId: string;
  /** ISO instant on the client's clock. */
  clientTime: string;
  /** Server clock minus client clock, measured by the client over the socket. */
  clockOffsetMs?: number | undefined;
}

export interface CorrectionInputBody {
  kind: CorrectionKind;
  at?: string | undefined;
  item?: number | undefined;
  reason: string;
}

const SESSION: Text = { en: 'The session', zh: '该会话' };
const STATE_ZH: Record<SessionState, string> = { scheduled: '待开始', recording: '录制中', recess: '休会中', ended: '已结束', sealed: '已封存' };

const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

/**
 * Sessions: a case, a room (or none, for a portable device), a procedure template, participants,
 * and the state machine `scheduled → recording ⇄ recess → ended → sealed`; marks and their
 * corrections; interruptions and their explanations. Recording hooks in through
 * SessionLifecycleHooks; every change goes to the audit log and out through the publisher.
 */
export class SessionService {
  /** Sessions and rooms with a state change in progress (a hook may take a moment). */
  private readonly busy = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionRepository,
    private readonly cases: CaseService,
    private readonly rooms: RoomRepository,
    private readonly checklist: Checklist,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly publisher: SessionPublisher,
    private hooks: SessionLifecycleHooks = noLifecycleHooks,
  ) {}

  /** Recording plugs itself in here once it exists. */
  setHooks(hooks: SessionLifecycleHooks): void {
    this.hooks = hooks;
  }

  create(caller: Caller, input: SessionInput): SessionRecord {
    const procedure = this.procedure(input.procedure);
    if (input.roomId !== undefined) {
      const room = this.rooms.list().find((r) => r.id === input.roomId);
      if (!room) {
        throw badRequest('unknown_room', { en: `There is no room ${input.roomId}: choose one of GET /api/rooms.`, zh: `没有房间 ${input.roomId}，请从房间列表中选择。` });
      }
      if (!canRunSession(caller.user, { roomId: room.id, createdBy: caller.user.username })) throw notYourRoom(room.id);
      if (!procedure.roomKinds.includes(room.kind)) {
        throw badRequest('procedure_not_for_room', {
          en: `The procedure ${procedure.id} (${procedure.name}) is not held in a ${room.kind} room${procedure.roomKinds.length ? ` (only ${procedure.roomKinds.join(', ')})` : ' (it is recorded with a portable device: give no roomId)'}.`,
          zh: `程序“${procedure.name}”不在此类房间进行${procedure.roomKinds.length ? `（仅限 ${procedure.roomKinds.join('、')}）` : '（应使用便携设备记录，请勿指定房间）'}。`,
        });
      }
    }
    checkParticipants(input.participants);
    const by = { actor: caller.user.username, ip: caller.ip };
    return this.db.transaction(() => {
      const theCase = input.caseId !== undefined ? this.cases.get(input.caseId) : this.cases.findOrCreateByNumber(by, input.caseNumber!, input.title);
      const now = this.clock.now().toISOString();
      const session: SessionRecord = {
        id: randomUUID(),
        caseId: theCase.id,
        title: input.title,
        procedure: procedure.id,
        roomId: input.roomId ?? null,
        state: 'scheduled',
        createdBy: caller.user.username,
        createdAt: now,
        startedAt: null,
        endedAt: null,
        sealedAt: null,
        sealedBy: null,
      };
      this.sessions.insert(session, input.participants);
      this.sessions.changeState(session, { from: null, to: 'scheduled', at: now, actor: caller.user.username, reason: null });
      // Names and roles only: identity numbers never enter the audit log or the logs.
      this.audit.record(by, 'session.created', session.id, {
        caseId: theCase.id,
        caseNumber: theCase.caseNumber,
        title: session.title,
        procedure: session.procedure,
        roomId: session.roomId,
        participants: input.participants.map((p) => ({ name: p.name, role: p.role, badgeNumber: p.badgeNumber ?? null })),
      });
      return session;
    })();
  }

  list(caller: Caller, filter: SessionFilter): (SessionRecord & { caseNumber: string; currentStage: StageView | null })[] {
    return this.sessions
      .list(filter)
      .filter((s) => canReadSession(caller.user, s))
      .map((s) => ({ ...s, caseNumber: this.cases.get(s.caseId).caseNumber, currentStage: this.currentStage(s) }));
  }

  view(caller: Caller, id: string): SessionView {
    const session = this.readable(caller, id);
    const full = seesIdNumbers(caller.user);
    const marks = this.sessions.marks(id);
    const corrections = this.sessions.corrections(id);
    const stages = this.stagesOfSession(session, marks, corrections);
    return {
      ...session,
      caseNumber: this.cases.get(session.caseId).caseNumber,
      participants: this.sessions.participants(id).map((p) => ({ ...p, idNumber: p.idNumber === null || full ? p.idNumber : maskIdNumber(p.idNumber) })),
      history: this.sessions.history(id),
      marks: effectiveMarks(marks, corrections),
      records: { marks, corrections },
      stages: stages.map(stageView),
      currentStage: this.currentOf(session, stages),
      interruptions: this.sessions.interruptions(id),
    };
  }

  /** The derived stages of a session, for recording and playback (segments' `items`). */
  stages(sessionId: string): Stage[] {
    const session = this.sessions.get(sessionId);
    if (!session) throw notFound(SESSION);
    return this.stagesOfSession(session, this.sessions.marks(sessionId), this.sessions.corrections(sessionId));
  }

  start(caller: Caller, id: string): Promise<SessionRecord> {
    return this.transition(caller, id, 'start', ['scheduled'], 'recording', null, async (session, now) => {
      session.startedAt = now;
      await this.hooks.onStart(session);
    });
  }

  stop(caller: Caller, id: string): Promise<SessionRecord> {
    return this.transition(caller, id, 'stop', ['recording', 'recess'], 'ended', null, async (session, now) => {
      session.endedAt = now;
      await this.hooks.onStop(session);
    }, (session) => {
      // A session that ended is interrupted no longer: whatever was still open (a recess, a camera) ends with it.
      this.sessions.endOpenInterruptions(session.id, session.endedAt!);
    });
  }

  recess(caller: Caller, id: string, reason: string): Promise<SessionRecord> {
    return this.transition(caller, id, 'recess', ['recording'], 'recess', reason, async (session) => {
      await this.hooks.onRecess(session, reason);
    }, (session, now) => {
      // A recess is an interruption of the whole session, explained by its reason.
      this.sessions.insertInterruption({ sessionId: session.id, cameraId: null, startedAt: now, endedAt: null, cause: RECESS_CAUSE, explanation: reason, explainedBy: caller.user.username, explainedAt: now });
    });
  }

  resume(caller: Caller, id: string): Promise<SessionRecord> {
    return this.transition(caller, id, 'resume', ['recess'], 'recording', null, async (session) => {
      await this.hooks.onResume(session);
    }, (session, now) => {
      this.sessions.endOpenInterruptions(session.id, now, { cameraId: null, cause: RECESS_CAUSE });
    });
  }

  seal(caller: Caller, id: string): Promise<SessionRecord> {
    return this.transition(caller, id, 'seal', ['ended'], 'sealed', null, async (session, now) => {
      const unexplained = this.sessions.interruptions(id).filter((i) => i.explanation === null);
      if (unexplained.length > 0) {
        const list = unexplained.map((i) => `#${i.id} (${i.cameraId ?? 'session'}, ${i.cause}, ${i.startedAt}${i.endedAt ? ` – ${i.endedAt}` : ''})`).join(', ');
        throw conflict('unexplained_interruptions', {
          en: `The session cannot be sealed: interruption${unexplained.length > 1 ? 's' : ''} ${list} ${unexplained.length > 1 ? 'have' : 'has'} no explanation. Explain each one first.`,
          zh: `无法封存：中断 ${list} 尚未说明原因，请先逐一填写说明。`,
        });
      }
      session.sealedAt = now;
      session.sealedBy = caller.user.username;
      await this.hooks.beforeSeal(session);
    });
  }

  /** Adds a mark, or answers the mark a retry with the same clientId made before. */
  addMark(caller: Caller, id: string, input: MarkInputBody): { mark: EffectiveMarkView; created: boolean } {
    const session = this.runnable(caller, id);
    const previous = this.sessions.markByClientId(input.clientId);
    if (previous) {
      const same = previous.sessionId === id && previous.item === (input.item ?? null) && previous.note === (input.note ?? null);
      if (!same) {
        throw conflict('client_id_reused', {
          en: `The clientId ${input.clientId} was already used for another mark: send a new UUID for each mark.`,
          zh: `clientId ${input.clientId} 已用于另一条标记，每条标记须使用新的 UUID。`,
        });
      }
      return { mark: this.effectiveMark(previous), created: false };
    }
    const stage = input.item !== undefined;
    if (session.state === 'recess' && stage) {
      throw conflict('session_in_recess', {
        en: 'The session is in recess: resume it before marking a stage (notes are still accepted).',
        zh: '当前休会中，请先继续会议再标记环节（仍可添加备注）。',
      });
    }
    if (session.state !== 'recording' && session.state !== 'recess') {
      throw conflict('session_not_recording', {
        en: `The session is ${session.state}, not recording: marks are taken only while it records.`,
        zh: `会话${STATE_ZH[session.state]}，未在录制，只有录制中才能标记。`,
      });
    }
    if (stage) this.checkItem(session, input.item!);
    const now = this.clock.now().getTime();
    const timing = placeMark({ serverTimeMs: now, clientTimeMs: ms(input.clientTime), clockOffsetMs: input.clockOffsetMs ?? null, notBeforeMs: ms(session.startedAt!) });
    const mark = this.db.transaction(() => {
      const inserted = this.sessions.insertMark({
        id: randomUUID(),
        sessionId: id,
        clientId: input.clientId,
        item: input.item ?? null,
        note: input.note ?? null,
        clientTime: input.clientTime,
        clockOffsetMs: input.clockOffsetMs ?? null,
        serverTime: iso(now),
        effectiveAt: iso(timing.effectiveAtMs),
        delayed: timing.delayed,
        createdBy: caller.user.username,
      });
      this.audit.record({ actor: caller.user.username, ip: caller.ip }, 'session.mark', id, {
        markId: inserted.id,
        item: inserted.item,
        note: inserted.note,
        serverTime: inserted.serverTime,
        effectiveAt: inserted.effectiveAt,
        delayed: inserted.delayed,
      });
      return inserted;
    })();
    const view = this.effectiveMark(mark);
    this.publish(() => this.publisher.mark(session, view, this.currentStage(session)));
    return { mark: view, created: true };
  }

  /** A correction is a new record; the mark as delivered stays as it was. */
  correct(caller: Caller, id: string, markId: string, input: CorrectionInputBody): { correction: CorrectionRecord; mark: EffectiveMarkView } {
    const session = this.runnable(caller, id);
    if (session.state === 'sealed') throw sealed();
    const mark = this.sessions.mark(id, markId);
    if (!mark) throw notFound({ en: 'The mark', zh: '该标记' });
    const current = this.effectiveMark(mark);
    if (current.voided) {
      throw conflict('mark_voided', { en: 'This mark was voided: it cannot be corrected again.', zh: '该标记已作废，不能再更正。' });
    }
    if (input.kind === 'retime') {
      const at = ms(input.at!);
      const end = session.endedAt ? ms(session.endedAt) : this.clock.now().getTime();
      if (at < ms(session.startedAt!) || at > end) {
        throw badRequest('retime_outside_session', {
          en: `The new time ${input.at} is outside the session (${session.startedAt} – ${session.endedAt ?? 'now'}).`,
          zh: `新时间 ${input.at} 不在会话时间范围内（${session.startedAt} 至 ${session.endedAt ?? '现在'}）。`,
        });
      }
    }
    if (input.kind === 'change-item') {
      if (mark.item === null) throw badRequest('not_a_stage_mark', { en: 'A note has no item to change.', zh: '备注没有可更改的环节。' });
      this.checkItem(session, input.item!);
    }
    const correction = this.db.transaction(() => {
      const inserted = this.sessions.insertCorrection({
        id: randomUUID(),
        sessionId: id,
        markId,
        kind: input.kind,
        at: input.kind === 'retime' ? input.at! : null,
        item: input.kind === 'change-item' ? input.item! : null,
        reason: input.reason,
        createdBy: caller.user.username,
        createdAt: this.clock.now().toISOString(),
      });
      this.audit.record({ actor: caller.user.username, ip: caller.ip }, 'session.mark_corrected', id, {
        correctionId: inserted.id,
        markId,
        kind: inserted.kind,
        at: inserted.at,
        item: inserted.item,
        reason: inserted.reason,
      });
      return inserted;
    })();
    const view = this.effectiveMark(mark);
    this.publish(() => this.publisher.mark(session, view, this.currentStage(session)));
    return { correction, mark: view };
  }

  explain(caller: Caller, id: string, interruptionId: number, text: string): Interruption {
    const session = this.runnable(caller, id);
    if (session.state === 'sealed') throw sealed();
    const interruption = this.sessions.interruption(id, interruptionId);
    if (!interruption) throw notFound({ en: `Interruption ${interruptionId} of this session`, zh: `该会话的中断 ${interruptionId}` });
    if (interruption.explanation !== null) {
      throw conflict('already_explained', {
        en: `Interruption ${interruptionId} is already explained by ${interruption.explainedBy}: "${interruption.explanation}".`,
        zh: `中断 ${interruptionId} 已由 ${interruption.explainedBy} 说明：“${interruption.explanation}”。`,
      });
    }
    const at = this.clock.now().toISOString();
    this.db.transaction(() => {
      this.sessions.explainInterruption(interruptionId, text, caller.user.username, at);
      this.audit.record({ actor: caller.user.username, ip: caller.ip }, 'session.interruption_explained', id, { interruptionId, text });
    })();
    return { ...interruption, explanation: text, explainedBy: caller.user.username, explainedAt: at };
  }

  private async transition(
    caller: Caller,
    id: string,
    action: string,
    from: readonly SessionState[],
    to: SessionState,
    reason: string | null,
    prepare: (session: SessionRecord, now: string) => Promise<void>,
    alsoInTransaction?: (session: SessionRecord, now: string) => void,
  ): Promise<SessionRecord> {
    const before = this.runnable(caller, id);
    if (!from.includes(before.state)) throw wrongState(before.state, action, from);
    const locks = [`session:${id}`, ...(to === 'recording' && before.roomId ? [`room:${before.roomId}`] : [])];
    if (locks.some((l) => this.busy.has(l))) {
      throw conflict('session_busy', { en: 'Another change to this session or room is in progress: try again in a moment.', zh: '该会话或房间正在处理另一项操作，请稍后重试。' });
    }
    if (action === 'start' && before.roomId) this.checkRoomFree(before.roomId, id);
    for (const l of locks) this.busy.add(l);
    try {
      const now = this.clock.now().toISOString();
      const session: SessionRecord = { ...before, state: to };
      await prepare(session, now);
      const change: StateChange = { from: before.state, to, at: now, actor: caller.user.username, reason };
      this.db.transaction(() => {
        const fresh = this.sessions.get(id)!;
        if (fresh.state !== before.state) throw wrongState(fresh.state, action, from);
        if (action === 'start' && before.roomId) this.checkRoomFree(before.roomId, id);
        this.sessions.changeState(session, change);
        alsoInTransaction?.(session, now);
        this.audit.record({ actor: caller.user.username, ip: caller.ip }, `session.${action}`, id, { from: before.state, to, reason, roomId: session.roomId });
      })();
      this.log.info({ session: id, room: session.roomId, from: before.state, to, actor: caller.user.username }, `session ${action}`);
      this.publish(() => this.publisher.state(session, change, this.currentStage(session)));
      return session;
    } finally {
      for (const l of locks) this.busy.delete(l);
    }
  }

  private checkRoomFree(roomId: string, id: string): void {
    const other = this.sessions.activeInRoom(roomId);
    if (other && other.id !== id) {
      throw conflict('room_busy', {
        en: `The room ${roomId} is already in use by the session ${other.id} (${other.title}, ${other.state}): stop it before starting another.`,
        zh: `房间 ${roomId} 正被会话 ${other.id}（${other.title}，${STATE_ZH[other.state]}）使用，请先结束该会话。`,
      });
    }
  }

  private publish(send: () => void): void {
    try {
      send();
    } catch (err) {
      this.log.error({ err }, 'session event could not be sent');
    }
  }

  private procedure(id: string): Procedure {
    const found = this.checklist.procedures.find((p) => p.id === id);
    if (!found) {
      throw badRequest('unknown_procedure', {
        en: `There is no procedure ${id}: use one of ${this.checklist.procedures.map((p) => p.id).join(', ')}.`,
        zh: `没有程序 ${id}，可用程序：${this.checklist.procedures.map((p) => p.id).join('、')}。`,
      });
    }
    return found;
  }

  private checkItem(session: SessionRecord, item: number): void {
    const procedure = this.procedure(session.procedure);
    if (!procedure.items.includes(item)) {
      throw badRequest('unknown_item', {
        en: `Item ${item} is not part of the procedure ${procedure.id} (${procedure.name}): use one of ${procedure.items.join(', ')}.`,
        zh: `第 ${item} 项不属于程序“${procedure.name}”，可用项：${procedure.items.join('、')}。`,
      });
    }
  }

  private readable(caller: Caller, id: string): SessionRecord {
    const session = this.sessions.get(id);
    if (!session) throw notFound(SESSION);
    if (!canReadSession(caller.user, session)) throw notYourRoom(session.roomId);
    return session;
  }

  private runnable(caller: Caller, id: string): SessionRecord {
    const session = this.sessions.get(id);
    if (!session) throw notFound(SESSION);
    if (!canRunSession(caller.user, session)) throw notYourRoom(session.roomId);
    return session;
  }

  private effectiveMark(mark: MarkRecord): EffectiveMarkView {
    return effectiveMarks([mark], this.sessions.corrections(mark.sessionId).filter((c) => c.markId === mark.id))[0]!;
  }

  private stagesOfSession(session: SessionRecord, marks: MarkRecord[], corrections: CorrectionRecord[]): Stage[] {
    if (!session.startedAt) return [];
    return stagesOf(marks.map(markInput), corrections.map(correctionInput), ms(session.startedAt), session.endedAt ? ms(session.endedAt) : null);
  }

  private currentStage(session: SessionRecord): StageView | null {
    return this.currentOf(session, this.stagesOfSession(session, this.sessions.marks(session.id), this.sessions.corrections(session.id)));
  }

  private currentOf(session: SessionRecord, stages: Stage[]): StageView | null {
    if (session.state !== 'recording' && session.state !== 'recess') return null;
    const now = stageAt(stages, this.clock.now().getTime()) ?? stages.at(-1) ?? null;
    return now && stageView(now);
  }
}

const markInput = (m: MarkRecord): MarkInput => ({ id: m.id, seq: m.seq, item: m.item, note: m.note, effectiveAtMs: ms(m.effectiveAt) });
const correctionInput = (c: CorrectionRecord): CorrectionInput => ({ markId: c.markId, seq: c.seq, kind: c.kind, atMs: c.at === null ? null : ms(c.at), item: c.item });
const stageView = (s: Stage): StageView => ({ item: s.item, from: iso(s.fromMs), to: s.toMs === null ? null : iso(s.toMs) });

function effectiveMarks(marks: MarkRecord[], corrections: CorrectionRecord[]): EffectiveMarkView[] {
  const delayed = new Map(marks.map((m) => [m.id, m.delayed]));
  return applyCorrections(marks.map(markInput), corrections.map(correctionInput)).map((m) => ({
    id: m.id,
    item: m.item,
    note: m.note,
    effectiveAt: iso(m.effectiveAtMs),
    delayed: delayed.get(m.id)!,
    voided: m.voided,
    corrections: corrections.filter((c) => c.markId === m.id).map((c) => c.id),
  }));
}

function checkParticipants(participants: readonly ParticipantInput[]): void {
  const missing = participants.filter((p) => OFFICER_ROLES.includes(p.role) && !p.badgeNumber);
  if (missing.length > 0) {
    throw badRequest('badge_number_required', {
      en: `Officers carry a badge number: give badgeNumber for ${missing.map((p) => p.name).join(', ')}.`,
      zh: `执法人员须填写执法证号：${missing.map((p) => p.name).join('、')}。`,
    });
  }
  const seen = new Set<string>();
  for (const p of participants) {
    if (!p.badgeNumber) continue;
    if (seen.has(p.badgeNumber)) {
      throw badRequest('duplicate_badge_number', {
        en: `The badge number ${p.badgeNumber} is given for two participants: each officer has their own.`,
        zh: `执法证号 ${p.badgeNumber} 重复，每名执法人员的证号应不同。`,
      });
    }
    seen.add(p.badgeNumber);
  }
}

function wrongState(state: SessionState, action: string, from: readonly SessionState[]) {
  return conflict('invalid_state', {
    en: `The session is ${state}: ${action} needs it to be ${from.join(' or ')}.`,
    zh: `会话当前${STATE_ZH[state]}，无法执行此操作（需要：${from.map((s) => STATE_ZH[s]).join('或')}）。`,
  });
}

const sealed = () => conflict('session_sealed', { en: 'The session is sealed: nothing in it can change.', zh: '会话已封存，内容不可更改。' });

const notYourRoom = (roomId: string | null) =>
  forbidden(
    roomId
      ? { en: `You do not work in the room ${roomId}: ask security to assign it to you.`, zh: `您未被分配到房间 ${roomId}，请联系安全保密管理员分配。` }
      : { en: 'You may not run this session.', zh: '您无权操作此会话。' },
  );
