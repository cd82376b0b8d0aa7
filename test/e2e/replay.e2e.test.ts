// Legal staff replay a recorded hearing in Chromium: search by case number, open the session, click
// stage 20; the first frame the main video shows carries the simulator's burned-in time code within
// two frames of the stage's mark (hls.js on the server's stage playlist, EXT-X-START PRECISE). Then
// another camera becomes the main view, and the wall clock shown is the frame's capture time.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeTimeCode, timeCodeHeight } from '../../server/src/simulator/media/time-code.ts';
import { hearingCamerasOnline, recordHearing } from '../helpers/hearing.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { pause } from '../helpers/wait.ts';
import { launchBrowser, TEST_HOST, type TestBrowser } from './browser.ts';
import { poll, READ_TIME_CODE } from './page-time-code.ts';

const CASE_NUMBER = '秦应急罚〔2026〕33号';
const TWO_FRAMES_MS = 80;

let server: TestServer;
let sessionId: string;
let browser: TestBrowser | undefined;
const origin = () => `http://${TEST_HOST}:${server.port}`;

/** Decodes the next frame the video presents, into window.__firstFrame (requestVideoFrameCallback). */
const CATCH_NEXT_FRAME = `(testId) => {
  window.__firstFrame = undefined;
  const video = document.querySelector('[data-testid="' + testId + '"] video');
  const read = ${READ_TIME_CODE};
  const onFrame = (_now, meta) => {
    const r = read(testId);
    if (r) window.__firstFrame = { ...r, mediaTime: meta.mediaTime, currentTime: video.currentTime, presented: meta.presentedFrames, paused: video.paused };
    else video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}`;

/** The burned-in time code of every frame of a recorded file, from the top strip only. */
function timeCodes(file: string): number[] {
  const strip = timeCodeHeight(1280);
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', `crop=1280:${strip}:0:0`, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 28 });
  const size = 1280 * strip;
  return Array.from({ length: raw.length / size }, (_, i) => decodeTimeCode(new Uint8Array(raw.subarray(i * size, (i + 1) * size)), 1280, strip)).filter((t): t is number => t !== null);
}

/**
 * The recording's own capture-time error (first frame's time code − the index's startedAt, median
 * over the camera's segments; see evidence-export.test.ts), and every recorded frame's time code.
 */
function recordedFrames(cameraId: string): { captureError: number; frames: number[] } {
  const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
  const rows = db.prepare('SELECT file, started_at FROM segments WHERE session_id = ? AND camera_id = ? ORDER BY seq').all(sessionId, cameraId) as { file: string; started_at: string }[];
  db.close();
  const codes = rows.map((r) => timeCodes(join(server.dataDir, r.file)));
  const errors = rows.slice(1).map((r, i) => codes[i + 1]![0]! - Date.parse(r.started_at)).sort((a, b) => a - b);
  return { captureError: errors[Math.floor(errors.length / 2)]!, frames: codes.flat().sort((a, b) => a - b) };
}

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } }).catch((e: unknown) => {
    if (!String(e).includes('EADDRINUSE')) throw e;
    return startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
  });
  const clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const admin = new ApiClient(server.url);
  await admin.login('admin');
  await hearingCamerasOnline(admin);
  await pause(3000);
  sessionId = await recordHearing(clerk, { caseNumber: CASE_NUMBER, title: '听证（回放测试）', stages: [18, 19, 20], stageMs: [3000, 3300, 4500], seal: false });
  await pause(3000); // the last segments are adopted
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
}, 30_000);

describe('replay', { timeout: 90_000 }, () => {
  test('legal staff find the hearing, open stage 20 on its mark, switch the main camera, and enter case dates', async () => {
    browser = await launchBrowser();
    const page: Page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${origin()}/login`);
    await page.getByTestId('login-username').fill('legal');
    await page.getByTestId('login-password').fill('legal-demo');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${origin()}/replay`);

    await page.getByTestId('filter-case').fill('33号');
    await page.getByTestId('search-submit').click();
    await page.getByTestId(`open-${sessionId}`).click();
    await page.getByTestId('stage-20').waitFor();
    expect(await page.getByTestId('stage-20').textContent()).toContain('20');

    // The page opens the first stage paused; wait until the main video has a picture.
    await poll(() => page.evaluate(`(${READ_TIME_CODE})('camera-h1-wide')`) as Promise<unknown>, 20_000, 'a first picture');

    const legal = new ApiClient(server.url);
    await legal.login('legal');
    const view = (await legal.get(`/api/sessions/${sessionId}`)).json as { stages: { item: number; from: string }[] };
    const markMs = Date.parse(view.stages.find((s) => s.item === 20)!.from);

    await page.evaluate(`(${CATCH_NEXT_FRAME})('camera-h1-wide')`);
    await page.getByTestId('stage-20').click();
    const first = await poll(() => page.evaluate('window.__firstFrame ?? null') as Promise<{ value: number; mediaTime: number } | null>, 20_000, 'the first frame of stage 20');
    // Judged as the working copies are: the frame the recording itself places at the mark, net of its capture-time error.
    const { captureError, frames } = recordedFrames('h1-wide');
    const atMark = frames.find((t) => t - captureError >= markMs)!;
    const detail = `first frame ${JSON.stringify(first)}, mark ${markMs}, recorded at the mark ${atMark}, capture error ${captureError} ms`;
    console.log(`replay: stage 20's first frame − the recorded frame at its mark: ${first.value - atMark} ms (capture error ${captureError} ms)`);
    expect(Math.abs(first.value - atMark), detail).toBeLessThanOrEqual(TWO_FRAMES_MS);
    if (atMark - captureError - markMs <= TWO_FRAMES_MS) expect(Math.abs(first.value - captureError - markMs), detail).toBeLessThanOrEqual(TWO_FRAMES_MS);

    // The clock shows the frame's capture time, in Beijing time.
    const wall = Number(await page.getByTestId('replay-clock').getAttribute('data-wall-ms'));
    expect(wall).toBeGreaterThanOrEqual(markMs - TWO_FRAMES_MS);
    expect(wall).toBeLessThan(markMs + 10_000);
    expect(await page.getByTestId('replay-clock').textContent()).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}/);

    // Another camera as the main view: it plays the same moment.
    await page.getByTestId('main-h1-presiding').click();
    expect(await page.getByTestId('camera-h1-presiding').getAttribute('data-main')).toBe('true');
    const presiding = await poll(() => page.evaluate(`(${READ_TIME_CODE})('camera-h1-presiding')`) as Promise<{ value: number } | null>, 10_000, 'a picture of h1-presiding');
    const clock = Number(await page.getByTestId('replay-clock').getAttribute('data-wall-ms'));
    expect(Math.abs(presiding.value - recordedFrames('h1-presiding').captureError - clock)).toBeLessThan(1000);

    // The compliance findings are shown with the session (the case has no dates yet: a warning says so).
    await page.locator('[data-testid="finding"][data-rule="hearing-notice-period"][data-severity="warning"]').waitFor();

    // Case dates: a deadline before the order that set it is refused inline and nothing is saved.
    const dates = page.getByTestId('case-events');
    await page.getByTestId('case-event-kind').selectOption('rectification-order-served');
    await page.getByTestId('case-event-date').fill('2026-11-10');
    await page.getByTestId('case-event-add').click();
    await dates.locator('[data-testid="case-event"][data-kind="rectification-order-served"]').waitFor();
    await page.getByTestId('case-event-kind').selectOption('rectification-deadline');
    await page.getByTestId('case-event-date').fill('2026-11-01');
    await page.getByTestId('case-event-add').click();
    expect(await page.getByTestId('case-event-error').textContent()).toContain('早于');
    expect(await dates.locator('[data-testid="case-event"]').count()).toBe(1);
    expect(problems).toEqual([]);
  });
});
