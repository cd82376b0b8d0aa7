import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import { adoptFile, shanghaiDate } from '../recording/evidence-files.ts';
import type { Clock } from '../shared/clock.ts';
import { ApiError, badRequest, conflict, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { probeUpload } from './import-probe.ts';
import type { ImportRecord, ImportRepository } from './import-repository.ts';
import type { ImportCreated, ImportTimeZone, ImportView, TimeZoneInterpretation } from './import.types.ts';

const HOUR_MS = 3_600_000;
/** Body cameras set to Beijing time often label it UTC: their files read 8 hours late. */
const LOCAL_OFFSET_MS = 8 * HOUR_MS;
/** How close to a stated time (or to 8 h off it) a file's time must be to count as matching. */
const MATCH_MS = 30 * 60_000;
/** A file time this far after its upload is in the future. */
const FUTURE_SLACK_MS = 5 * 60_000;

const ID = /^imp-[0-9a-f]{16}$/;

export interface ImportInput {
  fileName: string;
  bytes: number;
  deviceId: string;
  item: number;
  note?: string | undefined;
  recordedAt?: string | undefined;
}

export interface ImportServiceOptions {
  dataDir: string;
  maxBytes: number;
  chunkBytes: number;
  stagingTtlS: number;
  /** Throws 404 for an unknown case. */
  caseExists: (caseId: string) => void;
  deviceExists: (deviceId: string) => boolean;
  itemExists: (item: number) => boolean;
  audit: AuditLog;
  clock: Clock;
  log: Logger;
}

type Actor = AuditContext & { actor: string };

/**
 * Decides whether a file's creation time is to be trusted as UTC: against the time the uploader
 * states, or else against the upload itself (a recording cannot start in the future).
 */
export function timeZoneFinding(creationTime: string | null, recordedAtClaim: string | null, uploadedAt: string): { suspect: boolean; reason: string | null } {
  if (creationTime === null) return { suspect: false, reason: 'the file carries no creation_time: its place on the timeline is unknown' };
  const file = Date.parse(creationTime);
  if (recordedAtClaim !== null) {
    const diff = file - Date.parse(recordedAtClaim);
    if (Math.abs(diff) <= MATCH_MS) return { suspect: false, reason: null };
    if (Math.abs(diff - LOCAL_OFFSET_MS) <= MATCH_MS) return { suspect: true, reason: 'the file time is 8 hours after the stated recording time: Beijing time written as UTC?' };
    return { suspect: true, reason: `the file time differs from the stated recording time by ${(diff / HOUR_MS).toFixed(1)} h` };
  }
  if (file > Date.parse(uploadedAt) + FUTURE_SLACK_MS) {
    return { suspect: true, reason: 'the file time is after the upload: Beijing time written as UTC?' };
  }
  return { suspect: false, reason: null };
}

/** Where a stored file sits on the case timeline under its (confirmed) time-zone reading. */
function recordedStart(creationTime: string | null, suspect: boolean, interpretation: TimeZoneInterpretation | null): string | null {
  if (creationTime === null) return null;
  const reading = interpretation ?? (suspect ? null : 'as-utc');
  if (reading === null) return null;
  return reading === 'as-utc' ? creationTime : new Date(Date.parse(creationTime) - LOCAL_OFFSET_MS).toISOString();
}

/**
 * Body-camera file imports (执法记录仪文件导入): legal staff upload a file in chunks into a case;
 * chunks wait in a staging directory that is never evidence; a complete file is hashed, probed and
 * stored write-once (a damaged video is kept and flagged), or refused (not a video, incomplete) with
 * its staging removed. Every step is audited; nothing here deletes a stored file.
 */
export class ImportService {
  private readonly stagingRoot: string;
  /** Imports being completed now: their chunks are no longer taken. */
  private readonly completing = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: ImportRepository,
    private readonly o: ImportServiceOptions,
  ) {
    this.stagingRoot = join(o.dataDir, 'import-staging');
  }

  get chunkBytes(): number {
    return this.o.chunkBytes;
  }

  /** Sweeps abandoned uploads now and then. */
  start(): void {
    const everyMs = Math.min(this.o.stagingTtlS * 1000, 10 * 60_000);
    void this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), everyMs);
    this.sweepTimer.unref();
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  create(by: Actor, caseId: string, input: ImportInput): ImportCreated {
    this.o.caseExists(caseId);
    if (input.bytes > this.o.maxBytes) {
      throw new ApiError(413, 'import_too_large', {
        en: `The file has ${input.bytes} bytes; at most ${this.o.maxBytes} are accepted (imports.maxBytes).`,
        zh: `文件大小为 ${input.bytes} 字节，超过上限 ${this.o.maxBytes} 字节（imports.maxBytes）。`,
      });
    }
    if (!this.o.deviceExists(input.deviceId)) {
      throw badRequest('unknown_device', { en: `Device ${input.deviceId} is not registered: register it under Admin → Devices first.`, zh: `设备 ${input.deviceId} 未登记，请先在管理页面登记该设备。` });
    }
    if (!this.o.itemExists(input.item)) {
      throw badRequest('unknown_item', { en: `Checklist item ${input.item} does not exist.`, zh: `清单中没有第 ${input.item} 项。` });
    }
    const id = `imp-${randomBytes(8).toString('hex')}`;
    const record = {
      id,
      caseId,
      deviceId: input.deviceId,
      item: input.item,
      fileName: input.fileName,
      note: input.note ?? null,
      recordedAtClaim: input.recordedAt === undefined ? null : new Date(input.recordedAt).toISOString(),
      bytes: input.bytes,
      chunkBytes: this.o.chunkBytes,
      createdBy: by.actor,
      createdAt: this.o.clock.now().toISOString(),
    };
    this.repo.insert(record);
    this.o.audit.record(by, 'import.started', id, { caseId, deviceId: input.deviceId, item: input.item, fileName: input.fileName, bytes: input.bytes, recordedAt: record.recordedAtClaim });
    return { id, chunkBytes: this.o.chunkBytes, chunkCount: chunkCount(input.bytes, this.o.chunkBytes) };
  }

  /** Takes one chunk (again, on a resumed upload: the same index replaces the earlier copy). */
  async putChunk(id: string, index: number, data: Buffer): Promise<{ index: number; receivedChunks: number; chunkCount: number }> {
    const record = this.open(id);
    const count = chunkCount(record.bytes, record.chunkBytes);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw badRequest('invalid_chunk', { en: `Chunk ${index} does not exist: this upload has chunks 0 to ${count - 1}.`, zh: `分块 ${index} 不存在：本次上传的分块为 0 至 ${count - 1}。` });
    }
    const expected = index < count - 1 ? record.chunkBytes : record.bytes - record.chunkBytes * (count - 1);
    if (data.length !== expected) {
      throw badRequest('chunk_size', { en: `Chunk ${index} must have ${expected} bytes; ${data.length} arrived. Send it again.`, zh: `分块 ${index} 应为 ${expected} 字节，实际收到 ${data.length} 字节，请重新发送。` });
    }
    const dir = join(this.stagingRoot, id);
    await mkdir(dir, { recursive: true });
    // Written aside and renamed: a chunk is either whole or absent, whatever happens mid-write.
    const temporary = join(dir, `${index}.tmp-${randomBytes(4).toString('hex')}`);
    await writeFile(temporary, data);
    await rename(temporary, join(dir, `${index}.chunk`));
    return { index, receivedChunks: this.receivedChunks(id).length, chunkCount: count };
  }

  view(id: string): ImportView {
    return this.toView(this.get(id));
  }

  /**
   * Stored files, of one case or of all (export, integrity scrub): each as legal staff see it, with
   * its stored path (relative to DATA_DIR).
   */
  storedFiles(caseId?: string): { view: ImportView; file: string }[] {
    const records = caseId === undefined ? this.repo.allStored() : this.repo.storedOfCase(caseId);
    return records.map((r) => ({ view: this.toView(r), file: r.file! }));
  }

  /** The stored imports of a case, in the order of their recorded start (unplaced ones last). */
  ofCase(caseId: string): ImportView[] {
    this.o.caseExists(caseId);
    const views = this.repo.storedOfCase(caseId).map((r) => this.toView(r));
    const key = (v: ImportView) => v.timeZone?.recordedStart ?? '\uffff';
    return views.sort((a, b) => key(a).localeCompare(key(b)) || a.createdAt.localeCompare(b.createdAt));
  }

  /**
   * Ends an upload: refused (409) when a chunk is missing; else assembled and hashed, probed, and
   * stored write-once (flagged when damaged) or refused (415) when it is no video. A refused
   * upload's staging is removed; nothing of it is kept but its row and audit entries.
   */
  async complete(by: Actor, id: string): Promise<ImportView> {
    const record = this.open(id);
    this.completing.add(id);
    try {
      const count = chunkCount(record.bytes, record.chunkBytes);
      const received = new Set(this.receivedChunks(id));
      const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !received.has(i));
      if (missing.length > 0) {
        await this.refuse(by, record, 'incomplete', { missing });
        const list = missing.slice(0, 20).join(', ') + (missing.length > 20 ? ', …' : '');
        throw conflict('import_incomplete', {
          en: `The transfer is incomplete: chunk(s) ${list} of ${count} never arrived. It was refused and its staged chunks removed: upload the file again.`,
          zh: `传输不完整：共 ${count} 个分块，缺少第 ${list} 块。本次上传已被拒绝，暂存分块已删除，请重新上传该文件。`,
        });
      }
      const dir = join(this.stagingRoot, id);
      const assembled = join(dir, 'assembled');
      const hash = createHash('sha256');
      const out = await open(assembled, 'w');
      try {
        for (let i = 0; i < count; i++) {
          const chunk = await readFile(join(dir, `${i}.chunk`));
          hash.update(chunk);
          await out.write(chunk);
        }
        await out.sync();
      } finally {
        await out.close();
      }
      const sha256 = hash.digest('hex');
      const verdict = await probeUpload(assembled, this.o.log.child({ import: id }));
      if (verdict.kind === 'not-video') {
        await this.refuse(by, record, 'not_video', { sha256, why: verdict.reason });
        throw new ApiError(415, 'not_video', {
          en: `The file is not a video (${verdict.reason}): it was refused and nothing of it kept.`,
          zh: '该文件不是视频文件，已被拒绝，未保留任何内容。',
        });
      }
      const now = this.o.clock.now();
      const destination = join(this.o.dataDir, 'imports', shanghaiDate(now), record.caseId, `${id}.${verdict.ext}`);
      await adoptFile(assembled, destination, sha256);
      await chmod(destination, 0o444);
      const finding = timeZoneFinding(verdict.creationTime, record.recordedAtClaim, record.createdAt);
      const facts = {
        file: relative(this.o.dataDir, destination),
        sha256,
        damaged: verdict.damage !== null,
        damage: verdict.damage,
        probe: verdict.probe,
        creationTime: verdict.creationTime,
        timeZoneSuspect: finding.suspect,
        timeZoneReason: finding.reason,
        closedAt: now.toISOString(),
      };
      this.repo.store(id, facts);
      this.o.audit.record(by, 'import.stored', id, {
        caseId: record.caseId, deviceId: record.deviceId, item: record.item, file: facts.file, sha256, bytes: record.bytes,
        damaged: facts.damaged, damage: facts.damage, creationTime: facts.creationTime, timeZoneSuspect: facts.timeZoneSuspect,
      });
      await rm(dir, { recursive: true, force: true });
      return this.view(id);
    } finally {
      this.completing.delete(id);
    }
  }

  /** Legal staff say how to read a stored file's time; the file and its row stay as they are. */
  confirmTimeZone(by: Actor, id: string, interpretation: TimeZoneInterpretation): ImportView {
    const record = this.get(id);
    if (record.state !== 'stored') {
      throw conflict('import_not_stored', { en: `Import ${id} is ${record.state}: only a stored file has a time to confirm.`, zh: '只有已入库的文件才能确认时区。' });
    }
    if (record.creationTime === null) {
      throw conflict('no_creation_time', { en: 'The file carries no creation time to interpret.', zh: '该文件没有记录创建时间，无法确认时区。' });
    }
    const confirmation = { interpretation, confirmedBy: by.actor, confirmedAt: this.o.clock.now().toISOString() };
    this.repo.confirmTimeZone(id, confirmation);
    const view = this.toView(this.get(id));
    this.o.audit.record(by, 'import.time_zone_confirmed', id, { caseId: record.caseId, interpretation, creationTime: record.creationTime, recordedStart: view.timeZone?.recordedStart ?? null });
    return view;
  }

  /** Refuses uploads left unfinished past the staging TTL and removes staging nobody owns. */
  async sweep(): Promise<void> {
    const cutoff = this.o.clock.now().getTime() - this.o.stagingTtlS * 1000;
    const live = new Set<string>();
    for (const record of this.repo.uploading()) {
      if (this.completing.has(record.id)) continue;
      const dir = join(this.stagingRoot, record.id);
      const lastActivity = existsSync(dir) ? statSync(dir).mtimeMs : Date.parse(record.createdAt);
      if (lastActivity >= cutoff) {
        live.add(record.id);
        continue;
      }
      await this.refuse({ actor: null }, record, 'expired', { stagingTtlS: this.o.stagingTtlS }).catch((err: unknown) => this.o.log.error({ err, import: record.id }, 'an expired upload could not be refused'));
    }
    let dirs: string[] = [];
    try {
      dirs = await readdir(this.stagingRoot);
    } catch {
      return;
    }
    for (const name of dirs) {
      if (live.has(name) || this.completing.has(name)) continue;
      const path = join(this.stagingRoot, name);
      if ((await stat(path)).mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
    }
  }

  private async refuse(by: AuditContext, record: ImportRecord, reason: string, detail: Record<string, unknown>): Promise<void> {
    await rm(join(this.stagingRoot, record.id), { recursive: true, force: true });
    if (this.repo.refuse(record.id, reason, this.o.clock.now().toISOString())) {
      this.o.audit.record(by, 'import.refused', record.id, { caseId: record.caseId, reason, fileName: record.fileName, bytes: record.bytes, ...detail });
    }
  }

  private get(id: string): ImportRecord {
    const record = ID.test(id) ? this.repo.get(id) : null;
    if (!record) throw notFound({ en: `Import ${id}`, zh: `导入记录 ${id}` });
    return record;
  }

  /** An import still taking chunks. */
  private open(id: string): ImportRecord {
    const record = this.get(id);
    if (record.state !== 'uploading') {
      throw conflict('import_closed', { en: `Import ${id} is ${record.state}: start a new upload.`, zh: `导入记录 ${id} 已结束，请重新开始上传。` });
    }
    if (this.completing.has(id)) {
      throw conflict('import_completing', { en: `Import ${id} is being completed.`, zh: `导入记录 ${id} 正在完成处理。` });
    }
    return record;
  }

  private receivedChunks(id: string): number[] {
    const dir = join(this.stagingRoot, id);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => /^(\d+)\.chunk$/.exec(name))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private toView(r: ImportRecord): ImportView {
    const received = r.state === 'uploading' ? this.receivedChunks(r.id) : [];
    const count = chunkCount(r.bytes, r.chunkBytes);
    const lastBytes = r.bytes - r.chunkBytes * (count - 1);
    let timeZone: ImportTimeZone | null = null;
    if (r.state === 'stored') {
      const confirmation = this.repo.latestConfirmation(r.id);
      const suspect = r.timeZoneSuspect ?? false;
      timeZone = {
        creationTime: r.creationTime,
        suspect,
        reason: r.timeZoneReason,
        interpretation: confirmation?.interpretation ?? null,
        confirmedBy: confirmation?.confirmedBy ?? null,
        confirmedAt: confirmation?.confirmedAt ?? null,
        recordedStart: recordedStart(r.creationTime, suspect, confirmation?.interpretation ?? null),
      };
    }
    return {
      id: r.id,
      caseId: r.caseId,
      deviceId: r.deviceId,
      item: r.item,
      fileName: r.fileName,
      note: r.note,
      recordedAtClaim: r.recordedAtClaim,
      bytes: r.bytes,
      chunkBytes: r.chunkBytes,
      chunkCount: count,
      createdBy: r.createdBy,
      createdAt: r.createdAt,
      state: r.state,
      refusedReason: r.refusedReason,
      closedAt: r.closedAt,
      receivedChunks: received,
      receivedBytes: received.reduce((sum, i) => sum + (i === count - 1 ? lastBytes : r.chunkBytes), 0),
      sha256: r.sha256,
      damaged: r.damaged,
      damage: r.damage,
      probe: r.probe,
      timeZone,
    };
  }
}

const chunkCount = (bytes: number, chunkBytes: number) => Math.max(1, Math.ceil(bytes / chunkBytes));
