import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ApiClient, startTestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';


/** Processes whose command line mentions the given text (e.g. a test's data directory). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}


describe('a server killed mid-recording', () => {
  it('leaves every indexed segment intact, no ffmpeg behind, and resumes the session by itself', async () => {
    const first = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
    const configFile = join(first.dataDir, 'demo-own-subnet.yaml');
    let clerk = new ApiClient(first.url);
    await clerk.login('clerk');
    const admin = new ApiClient(first.url);
    await admin.login('admin');
    await waitFor(async () => ((await admin.get('/api/cameras')).json as { state: string }[]).every((c) => c.state === 'online'), 20_000);
    const created = await clerk.post('/api/sessions', { caseNumber: 'CRASH-1', title: '断电测试', procedure: 'interview', roomId: 'interview-1', participants: [{ name: '询问人', role: 'investigator', badgeNumber: '1' }, { name: '记录人', role: 'officer', badgeNumber: '2' }] });
    const sessionId = created.json.id as string;
    expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
    await waitFor(async () => ((await clerk.get(`/api/sessions/${sessionId}/segments`)).json as unknown[]).length >= 4, 20_000);

    const ingestProcesses = processesMentioning(join(first.dataDir, 'spool'));
    expect(ingestProcesses.length).toBeGreaterThan(0);
    first.process.kill('SIGKILL');
    expect(await first.stop({ keepData: true })).toBeNull();
    // setpriv's parent-death signal takes the ffmpeg children down with the server.
    await waitFor(async () => processesMentioning(join(first.dataDir, 'spool')).length === 0, 5000);

    const db = new Database(join(first.dataDir, 'hearing-recorder.db'), { readonly: true });
    const before = db.prepare('SELECT camera_id, seq, file, sha256 FROM segments WHERE session_id = ?').all(sessionId) as { camera_id: string; seq: number; file: string; sha256: string }[];
    db.close();
    for (const row of before) {
      expect(createHash('sha256').update(readFileSync(join(first.dataDir, row.file))).digest('hex')).toBe(row.sha256);
    }

    const second = await startTestServer({ dataDir: first.dataDir, env: { HR_CONFIG: configFile } });
    try {
      clerk = new ApiClient(second.url);
      await clerk.login('clerk');
      // The session records on; the downtime of each camera is an interruption closed by its next segment.
      await waitFor(async () => {
        const session = (await clerk.get(`/api/sessions/${sessionId}`)).json as { state: string; interruptions: { cause: string; endedAt: string | null }[] };
        const restarts = session.interruptions.filter((i) => i.cause === 'server_restart');
        return session.state === 'recording' && restarts.length === 2 && restarts.every((i) => i.endedAt !== null);
      }, 30_000);
      const segments = (await clerk.get(`/api/sessions/${sessionId}/segments`)).json as { cameraId: string; seq: number; sha256: string; prevSha256: string | null }[];
      for (const camera of ['i1-wide', 'i1-subject']) {
        const own = segments.filter((s) => s.cameraId === camera);
        expect(own.length).toBeGreaterThan(before.filter((b) => b.camera_id === camera).length);
        for (let i = 1; i < own.length; i++) expect(own[i]!.prevSha256).toBe(own[i - 1]!.sha256);
      }
      expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
    } finally {
      await second.stop();
    }
    expect(processesMentioning(join(first.dataDir, 'spool'))).toEqual([]);
  }, 120_000);
});
