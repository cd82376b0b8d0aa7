import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';

// Records a short demo hearing (stages 18–20), then replays it over HLS: the playlists built from the
// index, a stage opening on its mark, segments with ranges and hashes, who may replay, path
// traversal, and the custody log.
const CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
const TWO_FRAMES_MS = 80; // the simulator runs at 25 fps
let server: TestServer;
let clerk: ApiClient;
let legal: ApiClient;
let sessionId: string;
let session: any;
let segments: any[];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let clientIds = 0;
const mark = (body: object) =>
  clerk.post(`/api/sessions/${sessionId}/marks`, { ...body, clientId: `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`, clientTime: new Date().toISOString() });

interface Entry { pdt: string; duration: number; uri: string; discontinuity: boolean }
function parsePlaylist(text: string): { tags: string[]; entries: Entry[]; startOffset: number | null } {
  const lines = text.trim().split('\n');
  const entries: Entry[] = [];
  let pending: Partial<Entry> = {};
  let startOffset: number | null = null;
  for (const line of lines) {
    if (line.startsWith('#EXT-X-START:')) startOffset = Number(/TIME-OFFSET=([-\d.]+)/.exec(line)![1]);
    else if (line === '#EXT-X-DISCONTINUITY') pending.discontinuity = true;
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pending.pdt = line.slice('#EXT-X-PROGRAM-DATE-TIME:'.length);
    else if (line.startsWith('#EXTINF:')) pending.duration = Number(line.slice(8).split(',')[0]);
    else if (!line.startsWith('#')) {
      entries.push({ discontinuity: false, ...pending, uri: line } as Entry);
      pending = {};
    }
  }
  return { tags: lines.filter((l) => l.startsWith('#')), entries, startOffset };
}

const base = () => `/api/sessions/${sessionId}/cameras`;

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
  clerk = new ApiClient(server.url);
  legal = new ApiClient(server.url);
  await clerk.login('clerk');
  await legal.login('legal');
  const admin = new ApiClient(server.url);
  await admin.login('admin');
  for (let i = 0; i < 80; i++) {
    const cameras = (await admin.get('/api/cameras')).json as { id: string; state: string }[];
    if (cameras.filter((c) => CAMERAS.includes(c.id)).every((c) => c.state === 'online')) break;
    await pause(250);
  }
  await pause(4000); // spool for the pre-roll
  const created = await clerk.post('/api/sessions', {
    caseNumber: '秦应急罚〔2026〕21号',
    title: '听证（回放测试）',
    procedure: 'penalty-hearing',
    roomId: 'hearing-1',
    participants: [{ name: '张主持', role: 'presiding' }],
  });
  expect(created.status, created.text).toBe(201);
  sessionId = created.json.id;
  expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
  await pause(2500);
  expect((await mark({ item: 18 })).status).toBe(201);
  await pause(3100);
  expect((await mark({ item: 19 })).status).toBe(201);
  await pause(3300);
  expect((await mark({ item: 20 })).status).toBe(201);
  await pause(3000);
  // A recess: nothing is recorded, and the playlist must show the gap.
  expect((await clerk.post(`/api/sessions/${sessionId}/recess`, { reason: '休庭十分钟' })).status).toBe(200);
  await pause(3000);
  expect((await clerk.post(`/api/sessions/${sessionId}/resume`)).status).toBe(200);
  await pause(3000);
  expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
  // The last segments are adopted after the stop.
  for (let i = 0; i < 40; i++) {
    segments = (await legal.get(`/api/sessions/${sessionId}/segments`)).json;
    const ended = Date.parse((await legal.get(`/api/sessions/${sessionId}`)).json.endedAt);
    if (CAMERAS.every((c) => segments.some((s) => s.cameraId === c && Date.parse(s.endedAt) >= ended - 100))) break;
    await pause(250);
  }
  session = (await legal.get(`/api/sessions/${sessionId}`)).json;
}, 120_000);

afterAll(async () => {
  await server?.stop({ keepData: false });
});

describe('HLS replay from the segment index', () => {
  it('lists a camera\'s segments in order with program-date-times and media durations', async () => {
    const res = await legal.get(`${base()}/h1-wide/index.m3u8`);
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/mpegurl/);
    expect(res.headers.get('cache-control')).toMatch(/private/);
    const { tags, entries, startOffset } = parsePlaylist(res.text);
    expect(tags[0]).toBe('#EXTM3U');
    expect(tags).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(tags).toContain('#EXT-X-ENDLIST');
    expect(tags.some((t) => /^#EXT-X-VERSION:\d+$/.test(t))).toBe(true);
    const target = Number(tags.find((t) => t.startsWith('#EXT-X-TARGETDURATION:'))!.split(':')[1]);
    expect(startOffset).toBeNull();
    const indexed = segments.filter((s) => s.cameraId === 'h1-wide').sort((a, b) => a.seq - b.seq);
    expect(indexed.length).toBeGreaterThan(4);
    expect(entries.map((e) => e.uri)).toEqual(indexed.map((s) => `segments/${String(s.seq).padStart(6, '0')}.ts`));
    expect(entries.map((e) => e.pdt)).toEqual(indexed.map((s) => s.startedAt));
    entries.forEach((e, i) => {
      expect(e.duration).toBeCloseTo(indexed[i].durationMs / 1000, 3);
      expect(Math.round(e.duration)).toBeLessThanOrEqual(target);
    });
    // The times only grow; the recess is a discontinuity, the one gap, and nowhere else is there one.
    for (let i = 1; i < entries.length; i++) expect(Date.parse(entries[i]!.pdt)).toBeGreaterThan(Date.parse(entries[i - 1]!.pdt));
    const recess = (session.interruptions as { cameraId: string | null; startedAt: string; endedAt: string }[]).find((i) => i.cameraId === null)!;
    const breaks = entries.flatMap((e, i) => (e.discontinuity ? [i] : []));
    expect(breaks.length).toBeGreaterThanOrEqual(1);
    for (const i of breaks) {
      const gapStart = Date.parse(entries[i - 1]!.pdt) + entries[i - 1]!.duration * 1000;
      const gapEnd = Date.parse(entries[i]!.pdt);
      // Either a hole in the recording or the recess's start or end falls here.
      const atRecess = Date.parse(recess.startedAt) <= gapEnd + 40 && Date.parse(recess.endedAt) >= gapStart - 40;
      expect(gapEnd - gapStart > 40 || atRecess, `discontinuity before ${entries[i]!.uri}\n${res.text}`).toBe(true);
    }
    for (let i = 1; i < entries.length; i++) {
      const gap = Date.parse(entries[i]!.pdt) - (Date.parse(entries[i - 1]!.pdt) + entries[i - 1]!.duration * 1000);
      if (gap > 40) expect(entries[i]!.discontinuity, `gap of ${gap} ms before ${entries[i]!.uri} papered over`).toBe(true);
    }
    // The first segment after the recess began (recording resumes with the spool's segment that holds the resume).
    const across = entries.findIndex((e) => Date.parse(e.pdt) >= Date.parse(recess.startedAt));
    expect(entries[across]!.discontinuity).toBe(true);
    expect(Date.parse(entries[across]!.pdt) - (Date.parse(entries[across - 1]!.pdt) + entries[across - 1]!.duration * 1000)).toBeGreaterThan(2000);
  });

  it('opens a stage playlist within two frames of its mark', async () => {
    for (const item of [19, 20]) {
      const stage = (session.stages as { item: number; from: string; to: string }[]).find((s) => s.item === item)!;
      const markMs = Date.parse(stage.from);
      for (const camera of CAMERAS) {
        const res = await legal.get(`${base()}/${camera}/index.m3u8?item=${item}`);
        expect(res.status, res.text).toBe(200);
        const { entries, startOffset, tags } = parsePlaylist(res.text);
        expect(tags.some((t) => /^#EXT-X-START:TIME-OFFSET=[\d.]+,PRECISE=YES$/.test(t))).toBe(true);
        const first = Date.parse(entries[0]!.pdt);
        // The first listed segment holds the mark (the keyframe before it), the last reaches the stage's end.
        expect(first).toBeLessThanOrEqual(markMs);
        const last = entries.at(-1)!;
        expect(Date.parse(last.pdt) + last.duration * 1000).toBeGreaterThanOrEqual(Date.parse(stage.to) - TWO_FRAMES_MS);
        expect(Math.abs(first + startOffset! * 1000 - markMs)).toBeLessThanOrEqual(TWO_FRAMES_MS);
        // Only this stage's segments.
        const own = segments.filter((s) => s.cameraId === camera && s.items.includes(item)).map((s) => `segments/${String(s.seq).padStart(6, '0')}.ts`);
        expect(entries.map((e) => e.uri)).toEqual(own);
      }
    }
    expect((await legal.get(`${base()}/h1-wide/index.m3u8?item=25`)).status).toBe(404);
    expect((await legal.get(`${base()}/h1-wide/index.m3u8?item=abc`)).status).toBe(400);
    expect((await legal.get(`${base()}/no-such-camera/index.m3u8`)).status).toBe(404);
  });

  it('serves segments with ranges, the whole file hashing as the index says', async () => {
    const cookie = { cookie: legal.sessionCookie! };
    const row = segments.find((s) => s.cameraId === 'h1-presiding' && s.seq === 2)!;
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const file = (db.prepare('SELECT file FROM segments WHERE session_id = ? AND camera_id = ? AND seq = ?').get(sessionId, 'h1-presiding', 2) as { file: string }).file;
    db.close();
    const onDisk = readFileSync(join(server.dataDir, file));
    const url = `${server.url}${base()}/h1-presiding/segments/000002.ts`;

    const whole = await fetch(url, { headers: cookie });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('video/mp2t');
    expect(whole.headers.get('cache-control')).toMatch(/private/);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await whole.arrayBuffer());
    expect(body.length).toBe(row.bytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(row.sha256);

    const part = await fetch(url, { headers: { ...cookie, range: 'bytes=188-1315' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 188-1315/${row.bytes}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(onDisk.subarray(188, 1316))).toBe(true);

    const tail = await fetch(url, { headers: { ...cookie, range: 'bytes=-376' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(onDisk.subarray(onDisk.length - 376))).toBe(true);

    const outside = await fetch(url, { headers: { ...cookie, range: `bytes=${row.bytes}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${row.bytes}`);
    expect(((await outside.json()) as any).error.code).toBe('range_not_satisfiable');
  });

  it('lets legal staff and supervisors replay; everyone else gets 403', async () => {
    const supervisor = new ApiClient(server.url);
    await supervisor.login('supervisor');
    expect((await supervisor.get(`${base()}/h1-party/index.m3u8`)).status).toBe(200);
    expect((await supervisor.get(`${base()}/h1-party/segments/000001.ts`)).status).toBe(200);
    for (const user of [clerk, ...(await Promise.all(['admin', 'security', 'auditor'].map(async (u) => { const c = new ApiClient(server.url); await c.login(u); return c; })))]) {
      expect((await user.get(`${base()}/h1-wide/index.m3u8`)).status).toBe(403);
      expect((await user.get(`${base()}/h1-wide/segments/000001.ts`)).status).toBe(403);
    }
    expect((await new ApiClient(server.url).get(`${base()}/h1-wide/index.m3u8`)).status).toBe(401);
  });

  it('refuses path traversal with 400 or 404', async () => {
    const cookie = { cookie: legal.sessionCookie! };
    const attempts = [
      `${base()}/h1-wide/segments/..%2F..%2F..%2Fhearing-recorder.db`,
      `${base()}/h1-wide/segments/%2e%2e%2f000001.ts`,
      `${base()}/h1-wide/segments/000001.ts%00.db`,
      `${base()}/h1-wide/segments/..%5C000001.ts`,
      `${base()}/..%2Fh1-wide/segments/000001.ts`,
      `${base()}/%2e%2e/index.m3u8`,
      `/api/sessions/..%2F..%2Fetc/cameras/h1-wide/index.m3u8`,
      `${base()}/h1-wide/segments/999999.ts`,
      `${base()}/h1-wide/segments/-1.ts`,
      `${base()}/h1-wide/segments/%2Fetc%2Fpasswd`,
    ];
    for (const path of attempts) {
      const res = await fetch(`${server.url}${path}`, { headers: cookie });
      expect([400, 404], path).toContain(res.status);
      expect(res.headers.get('content-type'), path).toMatch(/json/);
    }
  });

  it('writes one custody row per playlist opened, not per segment', async () => {
    const before = custodyRows().length;
    await legal.get(`${base()}/h1-party/index.m3u8?item=18`);
    await legal.get(`${base()}/h1-party/index.m3u8?item=18`); // hls.js reloading the same playlist
    await legal.get(`${base()}/h1-party/segments/000001.ts`);
    await legal.get(`${base()}/h1-party/segments/000002.ts`);
    const rows = custodyRows();
    expect(rows.length).toBe(before + 1);
    const row = rows.at(-1)!;
    const stage = (session.stages as { item: number; from: string }[]).find((s) => s.item === 18)!;
    expect(row).toMatchObject({ username: 'legal', action: 'replay', camera_id: 'h1-party', room_id: 'hearing-1', session_id: sessionId });
    const detail = JSON.parse(row.detail);
    expect(detail).toMatchObject({ item: 18, from: stage.from });
    expect(Date.parse(detail.to)).toBeGreaterThan(Date.parse(detail.from));
    expect(row.ended_at).not.toBeNull();
    // Every replay so far: legal's whole h1-wide, its stages, the supervisor's h1-party.
    const all = custodyRows();
    expect(all.some((r) => r.username === 'supervisor' && r.camera_id === 'h1-party')).toBe(true);
    expect(all.filter((r) => r.username === 'legal' && r.camera_id === 'h1-wide' && JSON.parse(r.detail).item === null)).toHaveLength(1);
    // Refused requests leave no custody row.
    expect(all.every((r) => ['legal', 'supervisor'].includes(r.username))).toBe(true);
  });

  it('finds the session by the search filters of GET /api/sessions', async () => {
    const ids = async (q: string) => ((await legal.get(`/api/sessions?${q}`)).json as { id: string; caseNumber: string }[]).map((s) => s.id);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date(session.startedAt));
    expect(await ids(`caseNumber=${encodeURIComponent('〔2026〕21号')}`)).toEqual([sessionId]);
    expect(await ids(`caseNumber=${encodeURIComponent('〔2026〕22号')}`)).toEqual([]);
    expect(await ids(`procedure=penalty-hearing&roomId=hearing-1&state=ended&from=${today}&to=${today}`)).toEqual([sessionId]);
    expect(await ids('from=2001-01-01&to=2001-01-02')).toEqual([]);
    expect(await ids(`party=${encodeURIComponent('无此人')}`)).toEqual([]);
    expect(((await legal.get('/api/sessions')).json as { caseNumber: string }[])[0]!.caseNumber).toBe('秦应急罚〔2026〕21号');
    expect((await legal.get('/api/sessions?from=yesterday')).status).toBe(400);
  });
});

function custodyRows(): { username: string; action: string; camera_id: string; room_id: string; session_id: string; detail: string; ended_at: string | null }[] {
  const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
  try {
    return db.prepare("SELECT * FROM custody_log WHERE action = 'replay' AND session_id = ? ORDER BY id").all(sessionId) as any;
  } finally {
    db.close();
  }
}
