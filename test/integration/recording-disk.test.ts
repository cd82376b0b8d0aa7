import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { io as connect } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { ApiClient, startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';

const GB = 1e9;


async function onlineServer(disk: Record<string, number>) {
  const server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2, disk } } });
  const admin = new ApiClient(server.url);
  await admin.login('admin');
  await waitFor(async () => ((await admin.get('/api/cameras')).json as { state: string }[]).every((c) => c.state === 'online'), 20_000);
  const clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const created = await clerk.post('/api/sessions', { caseNumber: `DISK-${Date.now()}`, title: '磁盘测试', procedure: 'interview', roomId: 'interview-1', participants: [{ name: '询问人', role: 'investigator', badgeNumber: '1' }] });
  return { server, clerk, sessionId: created.json.id as string };
}

const freeBytes = (path: string) => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

describe('disk levels while recording', () => {
  it('below the refuse level a new session is refused with a clear error and nothing is deleted', async () => {
    const { server, clerk, sessionId } = await onlineServer({ warningGb: 1e6, refuseGb: 1e6, floorGb: 0, checkIntervalS: 1 });
    try {
      const spool = join(server.dataDir, 'spool');
      await waitFor(async () => existsSync(spool), 10_000);
      const refused = await clerk.request('POST', `/api/sessions/${sessionId}/start`, undefined, { 'accept-language': 'en' });
      expect(refused.status).toBe(503);
      expect(refused.json.error).toMatchObject({ code: 'disk_full', message: expect.stringContaining('nothing is deleted automatically') });
      expect((await clerk.get(`/api/sessions/${sessionId}`)).json.state).toBe('scheduled');

      // The clerk's pre-flight and every socket see the level before anything is started.
      const preflight = (await clerk.get('/api/rooms/interview-1/preflight')).json;
      expect(preflight.disk).toMatchObject({ level: 'refuse', freeBytes: expect.any(Number) });
      expect(preflight.cameras.map((c: { id: string; state: string }) => [c.id, c.state])).toEqual([['i1-wide', 'online'], ['i1-subject', 'online']]);
      expect(preflight.cameras[0]).toMatchObject({ clockOffsetMs: expect.any(Number), audio: true });
      expect(preflight.serverClock).toHaveProperty('synchronized');
      const legal = new ApiClient(server.url);
      await legal.login('legal');
      expect((await legal.get('/api/rooms/interview-1/preflight')).status).toBe(403);
      expect((await clerk.get('/api/rooms/no-such-room/preflight')).status).toBe(404);
      const socket = connect(server.url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie: clerk.sessionCookie! } });
      try {
        const level = await new Promise<{ level: string }>((resolve) => socket.once('disk:level', resolve));
        expect(level.level).toBe('refuse');
      } finally {
        socket.close();
      }
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('below the floor a running recording stops cleanly with an interruption, and resumes when space returns', async () => {
    const probeDir = mkdtempSync(join(tmpdir(), 'hr-free-'));
    const floorGb = (freeBytes(probeDir) - 0.3 * GB) / GB;
    rmSync(probeDir, { recursive: true });
    const { server, clerk, sessionId } = await onlineServer({ warningGb: floorGb, refuseGb: floorGb, floorGb, checkIntervalS: 0.5 });
    const filler = join(server.dataDir, 'filler.bin');
    try {
      expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
      await waitFor(async () => ((await clerk.get(`/api/sessions/${sessionId}/segments`)).json as unknown[]).length >= 4, 20_000);
      execFileSync('fallocate', ['-l', '700M', filler]);
      await waitFor(async () => {
        const session = (await clerk.get(`/api/sessions/${sessionId}`)).json as { interruptions: { cause: string }[] };
        return session.interruptions.filter((i) => i.cause === 'disk_full').length === 2;
      }, 10_000);
      rmSync(filler);
      await waitFor(async () => {
        const session = (await clerk.get(`/api/sessions/${sessionId}`)).json as { state: string; interruptions: { cause: string; endedAt: string | null }[] };
        const gaps = session.interruptions.filter((i) => i.cause === 'disk_full');
        return session.state === 'recording' && gaps.every((i) => i.endedAt !== null);
      }, 30_000);
      // Nothing was deleted to make room: every indexed file is still there.
      const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
      const files = (db.prepare('SELECT file FROM segments WHERE session_id = ?').all(sessionId) as { file: string }[]).map((r) => r.file);
      db.close();
      for (const file of files) expect(existsSync(join(server.dataDir, file)), file).toBe(true);
    } finally {
      rmSync(filler, { force: true });
      await server.stop();
    }
  }, 120_000);
});
