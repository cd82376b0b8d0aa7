// Legal staff import a body camera's file from a session's replay page in Chromium: the file goes up
// in chunks with a progress bar, a text file named .mp4 is refused with the server's message, and a
// file whose time reads 8 hours late is placed on the timeline once legal staff confirm the reading.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatInstant } from '../../client/src/lib/time.ts';
import { ApiClient } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { useBrowserSession } from './browser-session.ts';
import type { Page } from 'playwright-core';

const CHUNK = 64 * 1024;
const HOUR = 3_600_000;
const bs = useBrowserSession({ server: { simulator: true, demoOverrides: { imports: { maxBytes: 50_000_000, chunkBytes: CHUNK, stagingTtlS: 3600 } } } });

/** A screenshot of the panel for a person to look at, when HR_SHOTS names a folder. */
async function shot(page: Page, name: string): Promise<void> {
  if (process.env.HR_SHOTS) await page.getByTestId('import-panel').screenshot({ path: `${process.env.HR_SHOTS}/imports-${name}.png`, timeout: 30_000 }).catch(() => {});
}

let fixtures: string;
let sessionId: string;
let caseId: string;
let deviceId: string;
/** The recording's start as legal staff would type it (Beijing time, whole minutes). */
const recorded = new Date(Math.floor((Date.now() - 3 * HOUR) / 60_000) * 60_000);

beforeAll(async () => {
  fixtures = mkdtempSync(join(tmpdir(), 'hr-imports-e2e-'));
  const clerk = new ApiClient(bs.server.url);
  const admin = new ApiClient(bs.server.url);
  await Promise.all([clerk.login('clerk'), admin.login('admin')]);
  deviceId = (await admin.post('/api/devices', { name: '执法记录仪 09', officer: '赵执法', badgeNumber: '13000109' })).json.id;
  await waitFor(async () => ((await admin.get('/api/cameras')).json as { roomId: string; state: string }[]).filter((c) => c.roomId === 'hearing-1').every((c) => c.state === 'online'), 60_000, 'hearing-1 cameras online');
  const created = await clerk.post('/api/sessions', { caseNumber: '应急罚〔2026〕90号', title: '听证（导入测试）', procedure: 'penalty-hearing', roomId: 'hearing-1', participants: [] });
  sessionId = created.json.id;
  expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
  await waitFor(async () => ((await clerk.get(`/api/sessions/${sessionId}/segments`)).json as unknown[]).length > 0, 30_000, 'a recorded segment');
  expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
  caseId = (await clerk.get(`/api/sessions/${sessionId}`)).json.caseId;
  // Beijing time written as UTC: the file says 8 hours later than the recording really started.
  execFileSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '4', '-c:v', 'libx264', '-preset', 'ultrafast',
    '-metadata', `creation_time=${new Date(recorded.getTime() + 8 * HOUR).toISOString()}`, join(fixtures, 'DSC_0042.MP4'),
  ]);
  writeFileSync(join(fixtures, 'notes.mp4'), '这不是视频。\n'.repeat(1000));
}, 120_000);

afterAll(() => {
  rmSync(fixtures, { recursive: true, force: true });
});

describe('body-camera import panel', { timeout: 90_000 }, () => {
  test('legal staff upload with progress, see a refusal, and confirm a file time 8 hours off', async () => {
    const page = await bs.newPage(20_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await bs.login(page, 'legal');
    await page.waitForURL(`${bs.origin()}/replay`);
    await page.goto(`${bs.origin()}/replay?session=${sessionId}`);
    await page.getByTestId('import-panel').waitFor();

    await page.getByTestId('import-file').setInputFiles(join(fixtures, 'notes.mp4'));
    await page.getByTestId('import-device').fill(deviceId);
    await page.getByTestId('import-start').click();
    await expect.poll(() => page.getByTestId('import-error').textContent(), { timeout: 20_000 }).toContain('不是视频');

    // Every value the progress bar takes, as it takes it.
    await page.evaluate(`(() => {
      const seen = (window.__progress = []);
      new MutationObserver(() => {
        const bar = document.querySelector('[data-testid="import-progress"]');
        if (bar && seen.at(-1) !== bar.value) seen.push(bar.value);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    })()`);
    await page.getByTestId('import-file').setInputFiles(join(fixtures, 'DSC_0042.MP4'));
    await page.getByTestId('import-recorded-at').fill(formatInstant(recorded.toISOString()).slice(0, 16).replace(' ', 'T'));
    await page.getByTestId('import-start').click();
    const row = page.locator('[data-testid="import-list"] li', { hasText: 'DSC_0042.MP4' });
    await row.waitFor();
    const progress = (await page.evaluate('window.__progress')) as number[];
    expect(progress.some((v) => v > 0 && v < 1), JSON.stringify(progress)).toBe(true);
    expect(progress.at(-1)).toBe(1);
    await expect.poll(() => page.getByTestId('import-error').count()).toBe(0);

    // Suspect until confirmed: not placed, and the question is asked.
    await row.getByTestId('import-time-zone').waitFor();
    await shot(page, 'time-zone-question');
    expect(await row.textContent()).toContain('时间待确认');
    await row.getByTestId('import-local-as-utc').click();
    await expect.poll(() => row.textContent()).toContain(formatInstant(recorded.toISOString()));
    expect(await row.textContent()).toContain('已确认');
    await shot(page, 'confirmed');

    const legal = new ApiClient(bs.server.url);
    await legal.login('legal');
    const [stored] = (await legal.get(`/api/cases/${caseId}/imports`)).json as { fileName: string; timeZone: { recordedStart: string; interpretation: string } }[];
    expect(stored).toMatchObject({ fileName: 'DSC_0042.MP4', timeZone: { interpretation: 'local-as-utc', recordedStart: recorded.toISOString() } });
    expect(problems).toEqual([]);
  });
});
