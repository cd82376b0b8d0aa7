import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CaseService } from '../cases/case-service.ts';
import { shanghaiDate } from '../recording/evidence-files.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import { canReadSession } from '../sessions/session-access.ts';
import type { Caller, SessionService } from '../sessions/session-service.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { SessionRecord } from '../sessions/session.types.ts';
import type { Clock } from '../shared/clock.ts';
import type { Db } from '../shared/db/database.ts';
import { ApiError, conflict, forbidden, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { destroyMediaFiles } from './destroy-media.ts';
import type { RetentionRepository } from './retention-repository.ts';
import { retainedUntil, retentionClassOf, type RetentionConfig } from './retention-policy.ts';
import type { DestroyedFile, DestructionRecord, DestructionRequest, LegalHold, RetentionCandidate } from './retention.types.ts';

export interface RetentionServiceOptions {
  dataDir: string;
  retention: RetentionConfig;
  db: Db;
  repository: RetentionRepository;
  cases: CaseService;
  sessions: SessionService;
  sessionRepository: SessionRepository;
  segments: SegmentRepository;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

const REQUEST = { en: 'The destruction request', zh: '该销毁申请' };
const RECORD = { en: 'A destruction record of this session', zh: '此记录的销毁记录' };

/**
 * Retention (issue 7): legal holds per case, the list of sealed sessions past their retention class
 * (the job only lists), and the two-person destruction procedure — a legal user requests, another
 * legal user or a supervisor approves — which removes the media files and keeps the manifest, the
 * segment rows with their hashes and a destruction record.
 */
export class RetentionService {
  constructor(private readonly o: RetentionServiceOptions) {}

  // Legal hold ---------------------------------------------------------------------------------

  placeHold(caller: Caller, caseId: string, reason: string): LegalHold {
    return this.o.db.transaction(() => {
      this.o.cases.get(caseId);
      const active = this.o.repository.activeHold(caseId);
      if (active) {
        throw conflict('hold_active', {
          en: `The case is under legal hold already (placed by ${active.placedBy} on ${shanghaiDate(new Date(active.placedAt))}).`,
          zh: `该案件已处于诉讼保全状态（${active.placedBy} 于 ${shanghaiDate(new Date(active.placedAt))} 设置）。`,
        });
      }
      const hold = this.o.repository.placeHold({ caseId, reason, placedBy: caller.user.username, placedAt: this.now() });
      this.o.audit.record(this.by(caller), 'retention.hold_placed', caseId, { holdId: hold.id, reason });
      return hold;
    })();
  }

  releaseHold(caller: Caller, caseId: string, reason: string): LegalHold {
    return this.o.db.transaction(() => {
      this.o.cases.get(caseId);
      const active = this.o.repository.activeHold(caseId);
      if (!active) throw conflict('no_hold', { en: 'The case is not under legal hold.', zh: '该案件未处于诉讼保全状态。' });
      const at = this.now();
      this.o.repository.releaseHold(active.id, caller.user.username, at, reason);
      this.o.audit.record(this.by(caller), 'retention.hold_released', caseId, { holdId: active.id, reason });
      return { ...active, releasedBy: caller.user.username, releasedAt: at, releaseReason: reason };
    })();
  }

  // Candidates ---------------------------------------------------------------------------------

  /** Sealed sessions past their retention and not under hold, not yet destroyed. Lists; deletes nothing. */
  candidates(caller: Caller): RetentionCandidate[] {
    const found: RetentionCandidate[] = [];
    for (const session of this.o.sessionRepository.list({ state: 'sealed' })) {
      if (this.whyKept(session) !== null) continue;
      if (!canReadSession(caller.user, session)) continue;
      const kept = retentionClassOf(this.o.retention, session.procedure);
      found.push({
        sessionId: session.id,
        caseId: session.caseId,
        caseNumber: this.o.cases.get(session.caseId).caseNumber,
        title: session.title,
        procedure: session.procedure,
        endedAt: session.endedAt!,
        retention: kept,
        retainedUntil: retainedUntil(kept, session.endedAt!)!,
        pendingRequestId: this.o.repository.pendingRequest(session.id)?.id ?? null,
      });
    }
    return found.sort((a, b) => a.retainedUntil.localeCompare(b.retainedUntil));
  }

  // Destruction --------------------------------------------------------------------------------

  request(caller: Caller, sessionId: string, reason: string): DestructionRequest {
    this.o.sessions.view(caller, sessionId);
    return this.o.db.transaction(() => {
      this.assertCandidate(this.o.sessionRepository.get(sessionId)!);
      const pending = this.o.repository.pendingRequest(sessionId);
      if (pending) {
        throw conflict('request_pending', {
          en: `A destruction request for this session is pending already (${pending.id}, by ${pending.requestedBy}).`,
          zh: `此记录已有待处理的销毁申请（${pending.id}，申请人 ${pending.requestedBy}）。`,
        });
      }
      const request: DestructionRequest = {
        id: randomUUID(), sessionId, state: 'pending', reason, requestedBy: caller.user.username, requestedAt: this.now(),
        decidedBy: null, decidedAt: null, decisionReason: null,
      };
      this.o.repository.insertRequest(request);
      this.o.audit.record(this.by(caller), 'retention.destruction_requested', sessionId, { requestId: request.id, reason });
      return request;
    })();
  }

  /** Requests about sessions the caller may read. */
  requests(caller: Caller, state: DestructionRequest['state'] | undefined): DestructionRequest[] {
    return this.o.repository.requests(state).filter((r) => canReadSession(caller.user, this.o.sessionRepository.get(r.sessionId)!));
  }

  getRequest(id: string): DestructionRequest {
    const found = this.o.repository.request(id);
    if (!found) throw notFound(REQUEST);
    return found;
  }

  reject(caller: Caller, id: string, reason: string): DestructionRequest {
    return this.o.db.transaction(() => {
      const request = this.getRequest(id);
      this.o.sessions.view(caller, request.sessionId);
      const at = this.now();
      this.o.repository.decide(id, 'rejected', caller.user.username, at, reason);
      this.o.audit.record(this.by(caller), 'retention.destruction_rejected', request.sessionId, { requestId: id, reason });
      return { ...request, state: 'rejected' as const, decidedBy: caller.user.username, decidedAt: at, decisionReason: reason };
    })();
  }

  /**
   * The second person's approval: hold and retention are checked again, the destruction record (with
   * every file's hash and size, and the manifest's hash) is written with the decision, then the
   * media files are removed and the outcome audited.
   */
  async approve(caller: Caller, id: string): Promise<{ request: DestructionRequest; record: DestructionRecord }> {
    const { request, record } = this.o.db.transaction(() => {
      const request = this.getRequest(id);
      this.o.sessions.view(caller, request.sessionId);
      if (request.requestedBy === caller.user.username) {
        throw forbidden({
          en: 'You made this destruction request: a second person (another legal user or a supervisor) must approve it.',
          zh: '您是该销毁申请的申请人，须由另一人（其他法制人员或监督人员）批准。',
        }, 'same_person');
      }
      if (request.state !== 'pending') {
        throw conflict('request_decided', { en: `This destruction request was ${request.state} already.`, zh: '该销毁申请已处理。' });
      }
      this.assertCandidate(this.o.sessionRepository.get(request.sessionId)!);
      const manifest = this.o.segments.manifest(request.sessionId)!;
      const files: DestroyedFile[] = [
        ...this.o.segments.list(request.sessionId).map((s) => ({ file: s.file, sha256: s.sha256, bytes: s.bytes })),
        // Export packages on the server hold copies of the media: destroyed with it.
        ...this.o.repository.exportPackages(request.sessionId),
      ];
      const at = this.now();
      this.o.repository.decide(id, 'approved', caller.user.username, at, null);
      const record: DestructionRecord = {
        sessionId: request.sessionId, requestId: id, reason: request.reason, requestedBy: request.requestedBy, requestedAt: request.requestedAt,
        approvedBy: caller.user.username, destroyedAt: at, manifestSha256: manifest.sha256, files,
      };
      this.o.repository.insertRecord(record);
      this.o.audit.record(this.by(caller), 'retention.destruction_approved', request.sessionId, {
        requestId: id, requestedBy: request.requestedBy, files: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0), manifestSha256: manifest.sha256,
      });
      return { request: { ...request, state: 'approved' as const, decidedBy: caller.user.username, decidedAt: at }, record };
    })();
    const outcome = await destroyMediaFiles(this.o.dataDir, record.files.map((f) => f.file));
    this.o.audit.record(this.by(caller), 'evidence.destroyed', record.sessionId, {
      requestId: id, removed: outcome.removed.length, absent: outcome.absent, failed: outcome.failed,
    });
    if (outcome.failed.length > 0) this.o.log.error({ session: record.sessionId, failed: outcome.failed }, 'destruction: some files could not be removed');
    else this.o.log.warn({ session: record.sessionId, removed: outcome.removed.length, requestId: id }, 'destruction: media files removed, manifest and hashes kept');
    return { request, record };
  }

  /**
   * At start-up: a destruction whose record was written but whose files were not all removed (the
   * server stopped in between) is finished, as approved, and audited as resumed. Returns the number
   * of files removed.
   */
  async finishInterruptedDestructions(): Promise<number> {
    let removed = 0;
    for (const record of this.o.repository.records()) {
      const left = record.files.filter((f) => existsSync(join(this.o.dataDir, f.file))).map((f) => f.file);
      if (left.length === 0) continue;
      const outcome = await destroyMediaFiles(this.o.dataDir, left);
      removed += outcome.removed.length;
      this.o.audit.record({ actor: null }, 'evidence.destroyed', record.sessionId, {
        requestId: record.requestId, resumed: true, removed: outcome.removed.length, absent: outcome.absent, failed: outcome.failed,
      });
      this.o.log.warn({ session: record.sessionId, removed: outcome.removed.length, failed: outcome.failed }, 'destruction interrupted by a stop: finished at start-up');
    }
    return removed;
  }

  destructionRecord(caller: Caller, sessionId: string): DestructionRecord {
    this.o.sessions.view(caller, sessionId);
    const record = this.o.repository.record(sessionId);
    if (!record) throw notFound(RECORD);
    return record;
  }

  // Rules --------------------------------------------------------------------------------------

  /** Why a session may not be destroyed now (409 with a message), or null when it is a candidate. */
  private whyKept(session: SessionRecord): ApiError | null {
    if (this.o.repository.record(session.id)) {
      return conflict('destroyed', { en: 'The recordings of this session were destroyed already.', zh: '此记录的音视频已销毁。' });
    }
    if (session.state !== 'sealed' || !session.endedAt) {
      return conflict('not_sealed', {
        en: `Only a sealed session can be destroyed past its retention; this one is ${session.state}.`,
        zh: `只有已封存的记录才能在保存期满后销毁，此记录当前状态为 ${session.state}。`,
      });
    }
    const kept = retentionClassOf(this.o.retention, session.procedure);
    const until = retainedUntil(kept, session.endedAt);
    if (until === null) {
      return conflict('retention_permanent', {
        en: `Recordings of the procedure ${session.procedure} are kept permanently and are never destroyed.`,
        zh: `程序 ${session.procedure} 的录音录像永久保存，不得销毁。`,
      });
    }
    if (Date.parse(until) > this.o.clock.now().getTime()) {
      const day = shanghaiDate(new Date(until));
      return conflict('within_retention', {
        en: `The session is within its retention period until ${day} (Beijing time); it cannot be destroyed before then.`,
        zh: `此记录的保存期至 ${day}（北京时间），期满前不得销毁。`,
      });
    }
    const hold = this.o.repository.activeHold(session.caseId);
    if (hold) {
      return conflict('legal_hold', {
        en: `The case is under legal hold (placed by ${hold.placedBy} on ${shanghaiDate(new Date(hold.placedAt))}: ${hold.reason}); release the hold first.`,
        zh: `该案件处于诉讼保全状态（${hold.placedBy} 于 ${shanghaiDate(new Date(hold.placedAt))} 设置：${hold.reason}），须先解除保全。`,
      });
    }
    return null;
  }

  private assertCandidate(session: SessionRecord): void {
    const problem = this.whyKept(session);
    if (problem) throw problem;
  }

  private now(): string {
    return this.o.clock.now().toISOString();
  }

  private by(caller: Caller) {
    return { actor: caller.user.username, ip: caller.ip };
  }
}
