// A short recorded hearing in the demo room, as a clerk runs it: for tests that need a real
// recording (replay, export) rather than rows made up for them.
import { expect } from 'vitest';
import type { ApiClient } from './server.ts';
import { pause, waitFor } from './wait.ts';

export const HEARING_CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];

/** Waits until every camera of the demo hearing room is online (the ingest writes spool segments). */
export async function hearingCamerasOnline(admin: ApiClient, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const cameras = (await admin.get('/api/cameras')).json as { id: string; state: string }[];
      return cameras.filter((c) => HEARING_CAMERAS.includes(c.id)).every((c) => c.state === 'online');
    },
    timeoutMs,
    'the hearing room cameras online',
  );
}

let clientIds = 0;

/**
 * Records a penalty hearing in `hearing-1` (or another procedure in another room): start, each stage mark followed by `stageMs` (one for
 * all, or one per stage), stop; when
 * `seal`, every interruption explained (a loaded machine can stall a camera, as a clerk would
 * explain it) and sealed. Returns the session id.
 */
export async function recordHearing(
  clerk: ApiClient,
  opts: { caseNumber: string; title: string; stages: number[]; stageMs: number | number[]; seal: boolean; procedure?: string; roomId?: string },
): Promise<string> {
  const created = await clerk.post('/api/sessions', {
    caseNumber: opts.caseNumber,
    title: opts.title,
    procedure: opts.procedure ?? 'penalty-hearing',
    roomId: opts.roomId ?? 'hearing-1',
    participants: [{ name: '张主持', role: 'presiding' }],
  });
  expect(created.status, created.text).toBe(201);
  const id = created.json.id as string;
  expect((await clerk.post(`/api/sessions/${id}/start`)).status).toBe(200);
  // Stage marks are wall-clock instants: the hearing has to last as long as its stages.
  await pause(2000);
  for (const [i, item] of opts.stages.entries()) {
    const clientId = `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`;
    const marked = await clerk.post(`/api/sessions/${id}/marks`, { item, clientId, clientTime: new Date().toISOString() });
    expect(marked.status, marked.text).toBe(201);
    await pause(typeof opts.stageMs === 'number' ? opts.stageMs : opts.stageMs[i]!);
  }
  expect((await clerk.post(`/api/sessions/${id}/stop`)).status).toBe(200);
  if (!opts.seal) return id;
  const open = ((await clerk.get(`/api/sessions/${id}`)).json.interruptions as { id: string; explanation: string | null }[]).filter((x) => x.explanation === null);
  for (const x of open) expect((await clerk.post(`/api/sessions/${id}/interruptions/${x.id}/explanation`, { text: '测试机负载过高，画面中断' })).status).toBe(200);
  const sealed = await clerk.post(`/api/sessions/${id}/seal`);
  expect(sealed.status, sealed.text).toBe(200);
  return id;
}
