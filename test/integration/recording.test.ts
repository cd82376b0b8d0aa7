import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

// Records the demo hearing room's three simulated cameras for about 16 s with three stage marks,
// then checks files, hashes, chains, durations, pre-roll, derived items, probing and the seal.
const CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
let server: TestServer;
let clerk: ApiClient;
let sessionId: string;
let session: any;
let segments: any[];
let beforeRetime: any[];
let retimedTo: string;
const levels: { cameraId: string; dbfs: number }[] = [];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let clientIds = 0;
const mark = (body: object) =>
  clerk.post(`/api/sessions/${sessionId}/marks`, { ...body, clientId: `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`, clientTime: new Date().toISOString() });

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 4, segmentSeconds: 2 } } });
  clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const socket = connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: clerk.sessionCookie! } });
  socket.on('camera:level', (level: { cameraId: string; dbfs: number }) => levels.push(level));
  // Let the ingests fill the spool for the pre-roll: the cameras are probed, then pulled.
  const admin = new ApiClient(server.url);
  await admin.login('admin');
  for (let i = 0; i < 60; i++) {
    const cameras = (await admin.get('/api/cameras')).json as { id: string; state: string }[];
    if (cameras.filter((c) => CAMERAS.includes(c.id)).every((c) => c.state === 'online')) break;
    await pause(250);
  }
  // Six seconds of spool before the start, so the 4 s pre-roll has media to adopt (no API exposes the spool).
  await pause(6000);
  const created = await clerk.post('/api/sessions', {
    caseNumber: '秦应急罚〔2026〕7号',
    title: '听证（录像测试）',
    procedure: 'penalty-hearing',
    roomId: 'hearing-1',
    participants: [
      { name: '张主持', role: 'presiding' },
      { name: '李调查', role: 'investigator', badgeNumber: '13000001' },
      { name: '王调查', role: 'investigator', badgeNumber: '13000002' },
    ],
  });
  expect(created.status).toBe(201);
  sessionId = created.json.id;
  expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
  // The hearing itself: stages of a few seconds each, so that segments fall inside and across them.
  await pause(3000);
  expect((await mark({ item: 18 })).status).toBe(201);
  await pause(4000);
  expect((await mark({ item: 19 })).status).toBe(201);
  await pause(4000);
  expect((await mark({ item: 20 })).status).toBe(201);
  await pause(4000);
  expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
  // A correction after the hearing: stage 19 began 2 s later than clicked.
  beforeRetime = (await clerk.get(`/api/sessions/${sessionId}/segments`)).json;
  const mark19 = ((await clerk.get(`/api/sessions/${sessionId}`)).json.marks as { id: string; item: number; effectiveAt: string }[]).find((m) => m.item === 19)!;
  retimedTo = new Date(Date.parse(mark19.effectiveAt) + 2000).toISOString();
  const corrected = await clerk.post(`/api/sessions/${sessionId}/marks/${mark19.id}/corrections`, { kind: 'retime', at: retimedTo, reason: '主持人宣布时间以笔录为准' });
  expect(corrected.status, corrected.text).toBe(201);
  const sealed = await clerk.post(`/api/sessions/${sessionId}/seal`);
  expect(sealed.status, sealed.text).toBe(200);
  session = (await clerk.get(`/api/sessions/${sessionId}`)).json;
  segments = (await clerk.get(`/api/sessions/${sessionId}/segments`)).json;
  socket.close();
}, 120_000);

afterAll(async () => {
  await server?.stop({ keepData: false });
});

describe('a recorded hearing', () => {
  it('has segments of every camera whose files match their hashes and chain per camera', () => {
    expect(new Set(segments.map((s) => s.cameraId))).toEqual(new Set(CAMERAS));
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const rows = db.prepare('SELECT camera_id, seq, file, sha256 FROM segments WHERE session_id = ? ORDER BY camera_id, seq').all(sessionId) as { file: string; sha256: string }[];
    db.close();
    expect(rows).toHaveLength(segments.length);
    for (const row of rows) {
      const content = readFileSync(join(server.dataDir, row.file));
      expect(createHash('sha256').update(content).digest('hex')).toBe(row.sha256);
      expect(row.file).toMatch(new RegExp(`^recordings/\\d{4}-\\d{2}-\\d{2}/${sessionId}/h1-[a-z]+/\\d{6}\\.ts$`));
    }
    for (const camera of CAMERAS) {
      const own = segments.filter((s) => s.cameraId === camera);
      expect(own.map((s) => s.seq)).toEqual(own.map((_, i) => i + 1));
      expect(own[0].prevSha256).toBeNull();
      for (let i = 1; i < own.length; i++) expect(own[i].prevSha256).toBe(own[i - 1].sha256);
    }
  });

  it('covers the session from the pre-roll to the stop, with durations adding up to the span', () => {
    const start = Date.parse(session.startedAt);
    const end = Date.parse(session.endedAt);
    for (const camera of CAMERAS) {
      const own = segments.filter((s) => s.cameraId === camera);
      expect(Date.parse(own[0].startedAt)).toBeLessThan(start - 1000); // pre-roll
      expect(Date.parse(own.at(-1).endedAt)).toBeGreaterThanOrEqual(end - 100);
      const span = Date.parse(own.at(-1).endedAt) - Date.parse(own[0].startedAt);
      const total = own.reduce((sum, s) => sum + s.durationMs, 0);
      expect(Math.abs(span - total)).toBeLessThan(2500);
      for (let i = 1; i < own.length; i++) expect(Math.abs(Date.parse(own[i].startedAt) - Date.parse(own[i - 1].endedAt))).toBeLessThan(200);
    }
  });

  it('derives each segment\'s stage items from the marks', () => {
    const stages = session.stages as { item: number; from: string; to: string | null }[];
    expect(stages.map((s) => s.item)).toEqual([18, 19, 20]);
    for (const s of segments) {
      const from = Date.parse(s.startedAt);
      const to = Date.parse(s.endedAt);
      const expected = stages.filter((st) => Date.parse(st.from) < to && (st.to === null || Date.parse(st.to) > from)).map((st) => st.item);
      expect(s.items).toEqual(expected);
    }
    // Before the retime (below), stage 19 held at least one segment of its own.
    expect(beforeRetime.some((s) => s.items.includes(19) && s.items.length === 1)).toBe(true);
  });

  it('a retimed mark moves the derived items without touching a segment row', () => {
    // Segments still being adopted at the stop came later; compare those present both times.
    const key = (s: { cameraId: string; seq: number }) => `${s.cameraId}#${s.seq}`;
    const after = new Map(segments.map((s) => [key(s), s]));
    expect(beforeRetime.length).toBeGreaterThan(0);
    for (const { items: _i, ...row } of beforeRetime) {
      const { items: _j, ...now } = after.get(key(row))!;
      expect(now).toEqual(row);
    }
    const moved = beforeRetime.filter((s) => JSON.stringify(after.get(key(s))!.items) !== JSON.stringify(s.items));
    expect(moved.length).toBeGreaterThan(0);
    // Segments wholly between the click and the retimed start now belong to stage 18 only.
    for (const s of segments) {
      if (Date.parse(s.endedAt) <= Date.parse(retimedTo) && Date.parse(s.startedAt) >= Date.parse(session.stages[0].from)) {
        expect(s.items).not.toContain(19);
      }
    }
  });

  it('every segment probes as H.264 with AAC audio', () => {
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const files = (db.prepare('SELECT file FROM segments WHERE session_id = ?').all(sessionId) as { file: string }[]).map((r) => join(server.dataDir, r.file));
    db.close();
    for (const file of files) {
      const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'json', file], { encoding: 'utf8' }));
      expect(probe.streams.map((s: { codec_name: string }) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    }
  });

  it('is sealed: files read-only and a manifest whose hash is stored', () => {
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const manifest = db.prepare('SELECT file, sha256 FROM session_manifests WHERE session_id = ?').get(sessionId) as { file: string; sha256: string };
    const files = (db.prepare('SELECT file FROM segments WHERE session_id = ?').all(sessionId) as { file: string }[]).map((r) => r.file);
    db.close();
    const text = readFileSync(join(server.dataDir, manifest.file));
    expect(createHash('sha256').update(text).digest('hex')).toBe(manifest.sha256);
    const parsed = JSON.parse(text.toString('utf8'));
    expect(parsed.cameras.map((c: { cameraId: string }) => c.cameraId).sort()).toEqual([...CAMERAS].sort());
    expect(parsed.marks).toHaveLength(3);
    expect(parsed.clock).toHaveLength(4);
    expect(JSON.stringify(parsed)).not.toContain('idNumber');
    for (const file of [manifest.file, ...files]) expect(statSync(join(server.dataDir, file)).mode & 0o777).toBe(0o444);
    expect(session.state).toBe('sealed');
  });

  it('keeps the clocks with the session: the server sync state and each camera\'s offset', () => {
    const subjects = (session.clock as { subject: string; offsetMs: number | null; source: string; synchronized: boolean | null }[]);
    expect(subjects.map((c) => c.subject).sort()).toEqual(['server', ...CAMERAS].sort());
    const server = subjects.find((c) => c.subject === 'server')!;
    expect(['timedatectl', 'systemd-timesyncd', 'unknown']).toContain(server.source);
    for (const camera of subjects.filter((c) => c.subject !== 'server')) {
      expect(camera.source).toBe('onvif');
      expect(Math.abs(camera.offsetMs!)).toBeLessThan(1500);
    }
  });

  it('shows the manifest fingerprint with the session', () => {
    expect(session.manifest).toEqual({ file: expect.stringMatching(/manifest\.json$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), writtenAt: expect.any(String), keyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('sent each camera\'s audio level about once a second to the room', () => {
    for (const camera of CAMERAS) {
      const own = levels.filter((l) => l.cameraId === camera);
      expect(own.length, camera).toBeGreaterThan(8);
      for (const l of own) expect(l.dbfs).toBeGreaterThan(-40);
    }
  });

  it('evidence rows refuse to be rewritten', () => {
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'));
    expect(() => db.prepare("UPDATE segments SET sha256 = 'x' WHERE session_id = ?").run(sessionId)).toThrow('append-only');
    expect(() => db.prepare('DELETE FROM segments WHERE session_id = ?').run(sessionId)).toThrow('append-only');
    db.close();
  });
});
