import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setPriority } from 'node:os';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ComplianceService } from '../compliance/compliance-service.ts';
import type { CustodyLog } from '../custody/custody-log.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import type { Caller, SessionService } from '../sessions/session-service.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import type { Clock } from '../shared/clock.ts';
import { ApiError, notFound } from '../shared/errors.ts';
import { childRegistry } from '../shared/ffmpeg/child-registry.ts';
import type { Logger } from '../shared/logger.ts';
import type { ExportProgressEvent, IntegrityAlarmEvent as IntegrityAlarm } from '../realtime/events.ts';
import type { EvidenceRepository } from './evidence-repository.ts';
import type { ExportJob, ExportRecord, PackageCopy, ScrubJob, WorkerJob, WorkerMessage, WorkingCopyPlan } from './evidence.types.ts';
import { packageReadme } from './package-readme.ts';
import type { DestroyedEvidence } from '../retention/retention.types.ts';
import type { ImportService } from '../imports/import-service.ts';
import type { SigningKey } from './signing-key.ts';
import { EXPORT_INDEX, EXPORT_KEY, keyFingerprint, MANIFEST, MANIFEST_SIG, PUBLIC_KEY } from './verifier/verify.mjs';

const WORKER_MODULE = fileURLToPath(new URL('./evidence-worker.ts', import.meta.url));
export const VERIFIER_FILE = fileURLToPath(new URL('./verifier/verify.mjs', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';
const EXPORT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Camera and device ids become folder names in the zip: ASCII only. */
const SAFE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

interface ManifestSegment {
  seq: number;
  file: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  sha256: string;
  prevSha256: string | null;
}
interface SealedManifest {
  session: { id: string; startedAt: string; endedAt: string };
  marks: unknown[];
  corrections: unknown[];
  interruptions: unknown[];
  cameras: { cameraId: string; segments: ManifestSegment[] }[];
}


export interface EvidenceServiceOptions {
  dataDir: string;
  key: SigningKey;
  repository: EvidenceRepository;
  sessions: SessionService;
  sessionRepository: SessionRepository;
  segments: SegmentRepository;
  compliance: ComplianceService;
  custody: CustodyLog;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
  /** Seconds between integrity scrubs; 0 turns the schedule off. */
  scrubIntervalS: number;
  onProgress?: (username: string, event: ExportProgressEvent) => void;
  onAlarm?: (alarm: IntegrityAlarm) => void;
  /** Sessions whose media was destroyed past retention: no export, and the scrub reports their files as destroyed. */
  destroyed?: DestroyedEvidence;
  /** Body-camera files stored into cases: exported with each session of their case, re-hashed by the scrub. */
  imports?: Pick<ImportService, 'storedFiles'>;
}

const EXPORT_NOT_FOUND = { en: 'export', zh: '导出任务' };
/** Exports and scrubs (and their ffmpeg children) yield the CPU to recording. */
const WORKER_NICENESS = 10;

/**
 * Evidence: the signing key, export packages (built by a worker process, one at a time, progress to
 * the requester's sockets, every export audited and in the session's custody log) and the integrity
 * scrub (scheduled re-hashing of sealed evidence; a mismatch or a missing file raises an alarm and
 * is never repaired).
 */
export class EvidenceService {
  private queue: Promise<void> = Promise.resolve();
  private scrubTimer: NodeJS.Timeout | undefined;
  private scrubbing: Promise<IntegrityAlarm> | null = null;
  private readonly workers = new Set<ReturnType<typeof spawn>>();
  private closed = false;

  constructor(private readonly o: EvidenceServiceOptions) {}

  start(): void {
    const failed = this.o.repository.failUnfinished(this.o.clock.now().toISOString());
    if (failed.length > 0) this.o.log.warn({ exports: failed }, 'exports left unfinished by the previous run marked failed');
    if (this.o.scrubIntervalS > 0) {
      this.scrubTimer = setInterval(() => void this.scrub().catch((err: unknown) => this.o.log.error({ err }, 'integrity scrub failed')), this.o.scrubIntervalS * 1000);
      this.scrubTimer.unref();
    }
  }

  /** The public key and its fingerprint (admin UI, seal certificate). */
  keyInfo(): { algorithm: 'Ed25519'; publicKeyPem: string; fingerprint: string; fingerprintText: string } {
    return { algorithm: 'Ed25519', publicKeyPem: this.o.key.publicKeyPem, fingerprint: this.o.key.fingerprint, fingerprintText: this.o.key.fingerprintText };
  }

  // Exports ------------------------------------------------------------------------------------

  requestExport(caller: Caller, sessionId: string, request: { items?: number[]; cameras?: string[] }): { id: string } {
    const session = this.o.sessions.view(caller, sessionId);
    this.o.destroyed?.assertNotDestroyed(sessionId);
    if (session.state !== 'sealed') {
      throw new ApiError(409, 'session_not_sealed', {
        en: `Only a sealed session can be exported; this one is ${session.state}. Seal it first.`,
        zh: `只能导出已封存的记录，此记录当前状态为 ${session.state}。请先封存。`,
      });
    }
    const stages = this.o.sessions.stages(sessionId);
    const unknownItems = (request.items ?? []).filter((i) => !stages.some((s) => s.item === i));
    if (unknownItems.length > 0) {
      throw new ApiError(400, 'unknown_stage', {
        en: `The session has no stage for item(s) ${unknownItems.join(', ')}.`,
        zh: `此记录没有第 ${unknownItems.join('、')} 项的环节。`,
      });
    }
    const recorded = new Set(this.o.segments.list(sessionId).map((s) => s.cameraId));
    const unknownCameras = (request.cameras ?? []).filter((c) => !recorded.has(c));
    if (unknownCameras.length > 0) {
      throw new ApiError(400, 'unknown_camera', {
        en: `The session holds no recording of camera(s) ${unknownCameras.join(', ')}.`,
        zh: `此记录没有以下摄像机的录像：${unknownCameras.join('、')}。`,
      });
    }
    const id = randomUUID();
    const createdAt = this.o.clock.now().toISOString();
    const items = request.items?.length ? [...new Set(request.items)] : null;
    const cameras = request.cameras?.length ? [...new Set(request.cameras)] : null;
    this.o.repository.insertExport({ id, sessionId, username: caller.user.username, items, cameras, createdAt });
    this.o.audit.record({ actor: caller.user.username, ip: caller.ip }, 'evidence.export_requested', sessionId, { exportId: id, items, cameras });
    const next = this.queue.then(() => this.runExport(id, caller));
    this.queue = next.catch(() => undefined);
    return { id };
  }

  /** An export the caller may see: the requester, or anyone who may read its session. */
  getExport(caller: Caller, id: string): ExportRecord {
    if (!EXPORT_ID.test(id)) throw notFound(EXPORT_NOT_FOUND);
    const record = this.o.repository.getExport(id);
    if (!record) throw notFound(EXPORT_NOT_FOUND);
    this.o.sessions.view(caller, record.sessionId);
    return record;
  }

  /** The finished zip's path, computed from the export's row (never from anything the client sent). */
  download(caller: Caller, id: string): { path: string; name: string; record: ExportRecord } {
    const record = this.getExport(caller, id);
    if (record.state !== 'ready' || !record.file) {
      throw new ApiError(409, 'export_not_ready', { en: `The export is ${record.state}, not ready.`, zh: `导出任务状态为 ${record.state}，尚未完成。` });
    }
    this.o.destroyed?.assertNotDestroyed(record.sessionId);
    const path = join(this.o.dataDir, record.file);
    if (!existsSync(path)) throw notFound(EXPORT_NOT_FOUND);
    this.o.audit.record({ actor: caller.user.username, ip: caller.ip }, 'evidence.export_downloaded', record.sessionId, { exportId: id, sha256: record.sha256 });
    return { path, name: `hearing-${record.sessionId}-export-${id.slice(0, 8)}.zip`, record };
  }

  private progress(record: Pick<ExportRecord, 'id' | 'sessionId' | 'username'>, state: ExportRecord['state'], progress: number): void {
    this.o.repository.setProgress(record.id, state, progress);
    try {
      this.o.onProgress?.(record.username, { exportId: record.id, sessionId: record.sessionId, state, progress });
    } catch (err) {
      this.o.log.error({ err }, 'export progress listener threw');
    }
  }

  private async runExport(id: string, caller: Caller): Promise<void> {
    const record = this.o.repository.getExport(id)!;
    const custodyId = this.o.custody.open({
      sessionId: record.sessionId, roomId: null, cameraId: null, username: record.username, action: 'export',
      detail: { exportId: id, items: record.items, cameras: record.cameras },
    });
    try {
      this.progress(record, 'running', 0);
      const job = this.planExport(record, caller);
      const result = await this.runWorker(job, (fraction) => this.progress(record, 'running', fraction));
      if (result.type !== 'exported') throw new Error(result.type === 'failed' ? result.error : 'unexpected worker answer');
      this.o.repository.finishExport(id, { file: `exports/${id}.zip`, bytes: result.bytes, sha256: result.sha256 }, this.o.clock.now().toISOString());
      this.o.custody.close(custodyId, { state: 'ready', sha256: result.sha256, bytes: result.bytes });
      this.o.audit.record({ actor: record.username, ip: caller.ip }, 'evidence.exported', record.sessionId, { exportId: id, sha256: result.sha256, bytes: result.bytes });
      this.progress(record, 'ready', 1);
    } catch (err) {
      const message = (err as Error).message;
      this.o.log.error({ err, exportId: id, session: record.sessionId }, 'export failed');
      this.o.repository.finishExport(id, { error: message }, this.o.clock.now().toISOString());
      this.o.custody.close(custodyId, { state: 'failed', error: message });
      this.o.audit.record({ actor: record.username, ip: caller.ip }, 'evidence.export_failed', record.sessionId, { exportId: id, error: message });
      this.o.repository.setProgress(id, 'failed', record.progress);
      try {
        this.o.onProgress?.(record.username, { exportId: id, sessionId: record.sessionId, state: 'failed', progress: 0 });
      } catch {
        // a listener's failure is not the export's
      }
      await rm(join(this.o.dataDir, 'exports', `${id}.zip.part`), { force: true });
      await rm(join(this.o.dataDir, 'exports', `${id}.work`), { recursive: true, force: true });
    }
  }

  /** Resolves everything the worker needs: files, ranges, records. The custody entry of this export is open already. */
  private planExport(record: ExportRecord, caller: Caller): ExportJob {
    const sessionId = record.sessionId;
    const manifestRow = this.o.segments.manifest(sessionId);
    if (!manifestRow) throw new Error('the session has no manifest');
    const manifestFile = join(this.o.dataDir, manifestRow.file);
    const sessionDirectory = dirname(manifestFile);
    for (const f of [MANIFEST_SIG, PUBLIC_KEY]) {
      if (!existsSync(join(sessionDirectory, f))) throw new Error(`the session was sealed without ${f} (before signing existed); it cannot be exported as a signed package`);
    }
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as SealedManifest;
    const allStages = this.o.sessions.stages(sessionId).map((s) => ({
      item: s.item,
      from: new Date(s.fromMs).toISOString(),
      to: new Date(s.toMs ?? Date.parse(manifest.session.endedAt)).toISOString(),
    }));
    const stages = record.items ? allStages.filter((s) => record.items!.includes(s.item)) : allStages;
    const cameras = manifest.cameras.filter((c) => !record.cameras || record.cameras.includes(c.cameraId));
    const copies: PackageCopy[] = [
      { name: MANIFEST, source: manifestFile, sha256: manifestRow.sha256 },
      { name: MANIFEST_SIG, source: join(sessionDirectory, MANIFEST_SIG) },
      { name: PUBLIC_KEY, source: join(sessionDirectory, PUBLIC_KEY) },
      { name: 'verify.mjs', source: VERIFIER_FILE },
    ];
    const originals: { cameraId: string; segments: number[] }[] = [];
    const workingCopies: WorkingCopyPlan[] = [];
    const workingIndex: { file: string; cameraId: string; item: number; from: string; to: string; durationS: number; gapS: number }[] = [];
    const overlapping = (segments: ManifestSegment[], from: string, to: string) =>
      segments.filter((s) => Date.parse(s.endedAt) > Date.parse(from) && Date.parse(s.startedAt) < Date.parse(to));
    for (const camera of cameras) {
      if (!SAFE_NAME.test(camera.cameraId)) throw new Error(`camera id ${JSON.stringify(camera.cameraId)} cannot be a file name in the package`);
      // Originals: the whole session, or from the first segment of the first chosen stage to the
      // last of the last, so each camera's chain stays unbroken and checkable.
      const chosen = record.items ? stages.flatMap((st) => overlapping(camera.segments, st.from, st.to)) : camera.segments;
      if (chosen.length === 0) continue;
      const first = Math.min(...chosen.map((s) => s.seq));
      const last = Math.max(...chosen.map((s) => s.seq));
      const run = camera.segments.filter((s) => s.seq >= first && s.seq <= last);
      originals.push({ cameraId: camera.cameraId, segments: run.map((s) => s.seq) });
      for (const s of run) {
        const name = `original/${camera.cameraId}/${String(s.seq).padStart(6, '0')}.ts`;
        copies.push({ name, source: join(this.o.dataDir, s.file), sha256: s.sha256 });
      }
      for (const stage of stages) {
        const segs = overlapping(camera.segments, stage.from, stage.to);
        if (segs.length === 0) continue;
        const fromMs = Math.max(Date.parse(stage.from), Date.parse(segs[0]!.startedAt));
        const toMs = Math.min(Date.parse(stage.to), Date.parse(segs.at(-1)!.endedAt));
        // Gaps between segments (an interruption) are not in the media: the copy is that much shorter.
        let gapMs = 0;
        for (let i = 1; i < segs.length; i++) {
          const gap = Math.min(Date.parse(segs[i]!.startedAt), toMs) - Math.max(Date.parse(segs[i - 1]!.endedAt), fromMs);
          if (gap > 500) gapMs += gap;
        }
        const name = `working/${camera.cameraId}/stage-${stage.item}.mp4`;
        const durationS = (toMs - fromMs - gapMs) / 1000;
        workingCopies.push({ name, sources: segs.map((s) => join(this.o.dataDir, s.file)), untilFirstEndS: (Date.parse(segs[0]!.endedAt) - fromMs) / 1000, durationS });
        workingIndex.push({ file: name, cameraId: camera.cameraId, item: stage.item, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), durationS, gapS: gapMs / 1000 });
      }
    }
    const view = this.o.sessions.view(caller, sessionId);
    // The case's body-camera files, bit for bit, as hashed on arrival.
    const imported = (this.o.imports?.storedFiles(view.caseId) ?? []).map(({ view: described, file: stored }) => {
      const ext = extname(stored).toLowerCase();
      if (!SAFE_NAME.test(`${described.id}${ext}`)) throw new Error(`import ${JSON.stringify(described.id)} cannot be a file name in the package`);
      const file = `imports/${described.id}${ext}`;
      copies.push({ name: file, source: join(this.o.dataDir, stored), sha256: described.sha256! });
      return { file, ...described };
    });
    const findings = this.o.compliance.check(caller, sessionId);
    const custody = this.o.custody.forSession(sessionId);
    const index = {
      format: 'hearing-recorder/export/1',
      exportId: record.id,
      sessionId,
      caseNumber: view.caseNumber,
      title: view.title,
      exportedAt: this.o.clock.now().toISOString(),
      exportedBy: record.username,
      keyFingerprint: this.o.key.fingerprint,
      items: record.items,
      cameras: record.cameras,
      stages,
      originals,
      workingCopies: workingIndex,
      imports: imported.map(({ id, file, sha256 }) => ({ id, file, sha256: sha256! })),
      workingCopyMethod: 'ffmpeg stream copy with an MP4 edit list (segments joined into an indexed MP4, then cut with -ss before that input): no re-encoding; the packets from the keyframe before the mark are kept and flagged to be discarded, so playback starts on the mark',
    };
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    const documents = [
      { name: 'README.txt', content: packageReadme({ sessionId, caseNumber: view.caseNumber, title: view.title, fingerprint: this.o.key.fingerprintText, exportedAt: index.exportedAt }) },
      { name: EXPORT_INDEX, content: json(index) },
      { name: 'marks.json', content: json({ marks: manifest.marks, corrections: manifest.corrections, stages: allStages }) },
      { name: 'interruptions.json', content: json(manifest.interruptions) },
      {
        name: 'chains.json',
        content: json(manifest.cameras.map((c) => ({ cameraId: c.cameraId, chain: c.segments.map((s) => ({ seq: s.seq, sha256: s.sha256, prevSha256: s.prevSha256 })) }))),
      },
      { name: 'compliance.json', content: json({ findings: findings.map((f) => ({ item: f.item, rule: f.rule, severity: f.severity, message: f.message })) }) },
      { name: 'custody.json', content: json(custody) },
      { name: 'imports.json', content: json(imported) },
    ];
    // Rotated since the seal: the package is signed by today's key, which goes in beside the sealing key.
    if (keyFingerprint(readFileSync(join(sessionDirectory, PUBLIC_KEY), 'utf8')) !== this.o.key.fingerprint) {
      documents.push({ name: EXPORT_KEY, content: this.o.key.publicKeyPem });
    }
    return {
      kind: 'export',
      dataDir: this.o.dataDir,
      outFile: join(this.o.dataDir, 'exports', `${record.id}.zip`),
      workDir: join(this.o.dataDir, 'exports', `${record.id}.work`),
      copies,
      workingCopies,
      documents,
    };
  }

  // Integrity scrub -----------------------------------------------------------------------------

  /**
   * Re-hashes every segment and manifest of every sealed session against the hashes recorded when
   * they were written. Findings go to the audit log, the server log and the admins' and
   * supervisors' sockets. Nothing is repaired or deleted. One scrub at a time.
   */
  scrub(): Promise<IntegrityAlarm> {
    this.scrubbing ??= this.runScrub().finally(() => (this.scrubbing = null));
    return this.scrubbing;
  }

  private async runScrub(): Promise<IntegrityAlarm> {
    const files: ScrubJob['files'] = [];
    // Destroyed by the approved procedure: reported as such, not re-hashed and never an alarm.
    const destroyed: NonNullable<IntegrityAlarm['destroyed']> = [];
    for (const session of this.o.sessionRepository.list({ state: 'sealed' })) {
      const manifest = this.o.segments.manifest(session.id);
      if (manifest) files.push({ sessionId: session.id, path: join(this.o.dataDir, manifest.file), sha256: manifest.sha256 });
      const gone = this.o.destroyed?.destroyedFiles(session.id);
      for (const s of this.o.segments.list(session.id)) {
        if (gone?.has(s.file)) destroyed.push({ sessionId: session.id, path: s.file, sha256: s.sha256 });
        else files.push({ sessionId: session.id, path: join(this.o.dataDir, s.file), sha256: s.sha256 });
      }
    }
    for (const { view, file } of this.o.imports?.storedFiles() ?? []) files.push({ sessionId: null, importId: view.id, path: join(this.o.dataDir, file), sha256: view.sha256! });
    const at = this.o.clock.now().toISOString();
    if (files.length === 0) return { at, checked: 0, findings: [], destroyed };
    const result = await this.runWorker({ kind: 'scrub', files }, () => undefined);
    if (result.type !== 'scrubbed') throw new Error(result.type === 'failed' ? result.error : 'unexpected worker answer');
    const findings = result.findings.map((f) => ({ ...f, path: f.path.startsWith(this.o.dataDir) ? f.path.slice(this.o.dataDir.length).replace(/^\/+/, '') : f.path }));
    const alarm = { at, checked: result.checked, findings, destroyed };
    if (findings.length === 0) {
      this.o.log.info({ checked: result.checked }, 'integrity scrub: every stored file matches its hash');
      this.o.audit.record({ actor: null }, 'evidence.scrub_passed', null, { checked: result.checked, destroyed: destroyed.length });
      return alarm;
    }
    for (const f of findings) {
      this.o.audit.record({ actor: null }, 'evidence.integrity_alarm', f.sessionId ?? f.importId ?? null, { file: f.path, problem: f.problem, expected: f.expected, actual: f.actual });
    }
    this.o.log.error({ checked: result.checked, findings }, 'integrity scrub: stored evidence no longer matches its hashes (kept as it is, not repaired)');
    try {
      this.o.onAlarm?.(alarm);
    } catch (err) {
      this.o.log.error({ err }, 'integrity alarm listener threw');
    }
    return alarm;
  }

  // The worker process ---------------------------------------------------------------------------

  private runWorker(job: WorkerJob, onProgress: (fraction: number) => void): Promise<WorkerMessage> {
    if (this.closed) return Promise.reject(new Error('the server is shutting down'));
    const node = process.execPath;
    const args = ['--import', import.meta.resolve('tsx'), WORKER_MODULE];
    const [cmd, argv] = haveSetpriv() ? [SETPRIV, ['--pdeathsig', 'KILL', node, ...args]] : [node, args];
    return new Promise((resolve) => {
      const child = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'pipe', 'ipc'], env: { ...process.env, HR_EVIDENCE_WORKER: '1' } });
      this.workers.add(child);
      let result: WorkerMessage | null = null;
      // The worker's own stderr (a crash before it can report): kept for the error and the log.
      const stderr: string[] = [];
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        process.stderr.write(text);
        stderr.push(...text.split('\n').filter(Boolean));
        stderr.splice(0, Math.max(0, stderr.length - 20));
      });
      child.once('spawn', () => {
        if (!child.pid) return;
        childRegistry()?.add(child.pid);
        try {
          // An export reads every byte of the evidence on both cores; recording comes first.
          setPriority(child.pid, WORKER_NICENESS);
        } catch (err) {
          this.o.log.debug({ err }, 'could not lower the evidence worker priority');
        }
      });
      child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') child.send(job);
        else if (message.type === 'progress') onProgress(message.progress);
        else result = message;
      });
      child.once('error', (err) => {
        result ??= { type: 'failed', error: `the evidence worker could not run: ${err.message}` };
      });
      child.once('close', (code, signal) => {
        this.workers.delete(child);
        if (child.pid) childRegistry()?.remove(child.pid);
        if (!result) this.o.log.error({ code, signal, stderr }, 'evidence worker ended without a result');
        resolve(result ?? { type: 'failed', error: `the evidence worker ended (${signal ?? `code ${code}`}) without a result${stderr.length ? `: ${stderr.slice(-3).join(' | ')}` : ''}` });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.scrubTimer);
    for (const child of this.workers) child.kill('SIGTERM');
  }
}

function haveSetpriv(): boolean {
  try {
    accessSync(SETPRIV, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
