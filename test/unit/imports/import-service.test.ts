import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../server/src/audit/audit-log.ts';
import { CaseRepository } from '../../../server/src/cases/case-repository.ts';
import { DeviceRepository } from '../../../server/src/devices/device-repository.ts';
import { ImportRepository } from '../../../server/src/imports/import-repository.ts';
import { ImportService, timeZoneFinding } from '../../../server/src/imports/import-service.ts';
import { ManualClock } from '../../../server/src/shared/clock.ts';
import { openDatabase } from '../../../server/src/shared/db/database.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

const HOUR = 3_600_000;
const at = (iso: string, plusMs = 0) => new Date(Date.parse(iso) + plusMs).toISOString();

describe('time-zone finding', () => {
  const stated = '2026-12-04T01:00:00.000Z';
  const upload = '2026-12-04T06:00:00.000Z';
  it('trusts a file time within 30 minutes of the stated start', () => {
    expect(timeZoneFinding(at(stated, 29 * 60_000), stated, upload)).toEqual({ suspect: false, reason: null });
  });
  it('suspects Beijing time written as UTC when the file is 8 hours after the stated start', () => {
    expect(timeZoneFinding(at(stated, 8 * HOUR - 10 * 60_000), stated, upload)).toMatchObject({ suspect: true, reason: expect.stringContaining('8 hours') });
  });
  it('suspects any other difference from the stated start, naming it', () => {
    expect(timeZoneFinding(at(stated, -3 * HOUR), stated, upload)).toMatchObject({ suspect: true, reason: expect.stringContaining('-3.0 h') });
  });
  it('without a stated start, suspects only a file time after the upload', () => {
    expect(timeZoneFinding(at(upload, 6 * HOUR), null, upload).suspect).toBe(true);
    expect(timeZoneFinding(at(upload, 4 * 60_000), null, upload).suspect).toBe(false);
    expect(timeZoneFinding(at(upload, -2 * HOUR), null, upload).suspect).toBe(false);
  });
  it('says when the file has no creation time', () => {
    expect(timeZoneFinding(null, stated, upload)).toMatchObject({ suspect: false, reason: expect.stringContaining('no creation_time') });
  });
});

describe('import staging', () => {
  let dataDir: string;
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses an upload left past the staging TTL, removes its chunks, audits it, and the closed row cannot be rewritten or deleted', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'hr-import-unit-'));
    const db = openDatabase(':memory:', silentLogger());
    const clock = new ManualClock(new Date());
    const audit = new AuditLog(db, clock);
    new CaseRepository(db).insert({ id: 'case-1', caseNumber: '应急罚〔2026〕1号', title: 't', parties: [], createdBy: 'legal', createdAt: clock.now().toISOString() });
    new DeviceRepository(db).insert({ id: 'dev-0000000001', name: 'n', officer: 'o', badgeNumber: 'b', createdAt: clock.now().toISOString(), disabled: false, keyHash: '00' });
    const imports = new ImportService(new ImportRepository(db), {
      dataDir, maxBytes: 1_000_000, chunkBytes: 4096, stagingTtlS: 60,
      caseExists: () => undefined, deviceExists: () => true, itemExists: () => true,
      audit, clock, log: silentLogger(),
    });
    const { id } = imports.create({ actor: 'legal' }, 'case-1', { fileName: 'a.mp4', bytes: 5000, deviceId: 'dev-0000000001', item: 11 });
    await imports.putChunk(id, 0, Buffer.alloc(4096));
    const staging = join(dataDir, 'import-staging', id);
    expect(existsSync(staging)).toBe(true);
    await imports.sweep();
    expect(imports.view(id)).toMatchObject({ state: 'uploading', receivedChunks: [0], receivedBytes: 4096 });
    clock.advance(61_000);
    await imports.sweep();
    expect(existsSync(staging)).toBe(false);
    expect(imports.view(id)).toMatchObject({ state: 'refused', refusedReason: 'expired', receivedChunks: [] });
    expect(audit.page({ limit: 10 }).entries.find((e) => e.action === 'import.refused')).toMatchObject({ actor: null, target: id, detail: { reason: 'expired' } });
    await expect(imports.putChunk(id, 1, Buffer.alloc(904))).rejects.toMatchObject({ status: 409, code: 'import_closed' });
    expect(() => db.prepare("UPDATE imports SET state = 'uploading' WHERE id = ?").run(id)).toThrow(/never rewritten/);
    expect(() => db.prepare('DELETE FROM imports').run()).toThrow(/never deleted/);
  });
});
