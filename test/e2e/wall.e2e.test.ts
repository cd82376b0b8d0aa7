// The supervisor wall in Chromium during a demo hearing: the simulator's burned-in time code, read
// from the live video drawn to a canvas, advances over WebRTC (grid and enlarged, and over FLV when
// switched by hand); a stage the clerk marks, a recess and audio levels show on the wall; a camera
// that drops out is an alarm while it lasts; a killed WebRTC worker is watched again by itself; and
// with WebRTC blocked by a Chromium switch (no UDP without a proxy, so ICE cannot connect) the tile
// falls back to FLV by itself and the time code advances again.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, TEST_HOST, type TestBrowser } from './browser.ts';
import { poll, READ_TIME_CODE } from './page-time-code.ts';

const ROOM = 'hearing-1';
const CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
const CAMERA = 'h1-wide';
const CASE_NUMBER = '秦应急罚〔2026〕15号';
/**
 * No UDP except through a proxy, and there is none: WebRTC cannot connect, as on a UDP-blocking
 * network. (Debian's Chromium 156 knows this switch by this name; `--force-webrtc-ip-handling-policy`
 * is not in it.)
 */
const BLOCK_WEBRTC = '--webrtc-ip-handling-policy=disable_non_proxied_udp';

let server: TestServer;
let clerk: ApiClient;
let sessionId: string;
let browser: TestBrowser | undefined;
let clientIds = 0;

const origin = () => `http://${TEST_HOST}:${server.port}`;



interface Reading {
  value: number;
  width: number;
  height: number;
  now: number;
}

const readTimeCode = (page: Page, cameraId: string) => page.evaluate(`(${READ_TIME_CODE})(${JSON.stringify(`live-${cameraId}`)})`) as Promise<Reading | null>;

/** A decoded time code from the tile's video, then one at least a second later: the picture is live. */
async function expectTimeCodeAdvances(page: Page, cameraId: string): Promise<{ first: Reading; second: Reading }> {
  const first = await poll(() => readTimeCode(page, cameraId), 10_000, `a time code in the ${cameraId} video`);
  const second = await poll(
    async () => {
      const r = await readTimeCode(page, cameraId);
      return r && r.value >= first.value + 1000 ? r : null;
    },
    15_000,
    `a time code a second later than ${first.value} in the ${cameraId} video`,
  );
  // The picture is live: its capture time is seconds at most behind the browser's clock (same machine).
  expect(second.now - second.value).toBeLessThan(5_000);
  return { first, second };
}

async function attr(page: Page, testId: string, name: string): Promise<string | null> {
  return page.getByTestId(testId).getAttribute(name);
}

async function openWall(args: string[]): Promise<{ page: Page; problems: string[] }> {
  await browser?.close();
  browser = await launchBrowser({ args });
  const page = await browser.context.newPage();
  page.setDefaultTimeout(20_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${origin()}/login`);
  await page.getByTestId('login-username').fill('supervisor');
  await page.getByTestId('login-password').fill('supervisor-demo');
  await page.getByTestId('login-submit').click();
  await page.waitForURL(`${origin()}/wall`);
  await page.getByTestId(`wall-room-${ROOM}`).waitFor();
  return { page, problems };
}

async function waitForTile(page: Page, cameraId: string, transport: 'webrtc' | 'flv', timeoutMs: number): Promise<void> {
  await page
    .waitForFunction(
    ([id, want]) => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document.querySelector(
        `[data-testid="live-${id}"]`,
      );
      return el?.getAttribute('data-transport') === want && el.getAttribute('data-status') === 'playing';
    },
    [cameraId, transport] as const,
    { timeout: timeoutMs },
  )
    .catch(async (e: unknown) => {
      const tile = page.getByTestId(`live-${cameraId}`);
      const seen = await Promise.all(['data-transport', 'data-status', 'data-fell-back', 'data-error'].map((a) => tile.getAttribute(a).catch(() => '?')));
      throw new Error(`${cameraId} not playing over ${transport} (transport, status, fell back, error: ${seen.join(', ')}): ${String(e)}`);
    });
}

/** The WebRTC worker's pid, from the server's child registry (DATA_DIR/children.pid). */
function workerPid(): number | null {
  for (const line of readFileSync(join(server.dataDir, 'children.pid'), 'utf8').split('\n').filter(Boolean)) {
    const pid = Number(line.split(' ')[0]);
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('webrtc-worker.ts')) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

beforeAll(async () => {
  // Simulated cameras take a loopback subnet chosen from the pid: another suite running beside this
  // one may hold it, and the next try takes the next subnet.
  server = await startTestServer({ simulator: true }).catch((e: unknown) => {
    if (!String(e).includes('EADDRINUSE')) throw e;
    return startTestServer({ simulator: true });
  });
  clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  const admin = new ApiClient(server.url);
  await admin.login('admin');
  await poll(
    async () => {
      const cameras = (await admin.get('/api/cameras')).json as { id: string; state: string }[];
      return cameras.filter((c) => CAMERAS.includes(c.id)).every((c) => c.state === 'online') || null;
    },
    60_000,
    'the hearing room cameras online',
  );
  const created = await clerk.post('/api/sessions', {
    caseNumber: CASE_NUMBER,
    title: '听证（监看墙测试）',
    procedure: 'penalty-hearing',
    roomId: ROOM,
    participants: [
      { name: '张主持', role: 'presiding' },
      { name: '李调查', role: 'investigator', badgeNumber: '13000001' },
      { name: '王调查', role: 'investigator', badgeNumber: '13000002' },
    ],
  });
  expect(created.status).toBe(201);
  sessionId = created.json.id;
  expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (sessionId) await clerk.post(`/api/sessions/${sessionId}/stop`).catch(() => {});
  await server?.stop();
}, 30_000);

describe('supervisor wall', { timeout: 90_000 }, () => {
  test('the wall plays the hearing room over WebRTC (the time code advances) and shows a stage the clerk marks', async () => {
    const { page, problems } = await openWall([]);
    expect(await page.evaluate('window.isSecureContext')).toBe(false);
    expect(((await page.getByTestId(`wall-case-${ROOM}`).textContent()) ?? '').trim()).toBe(CASE_NUMBER);
    expect(await attr(page, `wall-state-${ROOM}`, 'data-state')).toBe('recording');
    for (const id of CAMERAS) expect(await attr(page, `live-${id}`, 'data-stream')).toBe('sub');

    await waitForTile(page, CAMERA, 'webrtc', 15_000);
    const { second } = await expectTimeCodeAdvances(page, CAMERA);
    expect(second.width).toBe(640); // the grid tile plays the sub stream
    expect(await attr(page, `live-${CAMERA}`, 'data-fell-back')).toBe('false');

    // The clerk marks stage 18: the wall shows its number and the checklist's text for it.
    const checklist = (await clerk.get('/api/checklist')).json as { item: number; matter: string }[];
    const matter = checklist.find((r) => r.item === 18)!.matter;
    const marked = await clerk.post(`/api/sessions/${sessionId}/marks`, {
      item: 18,
      clientId: `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`,
      clientTime: new Date().toISOString(),
    });
    expect(marked.status).toBe(201);
    await page.waitForSelector(`[data-testid="wall-stage-${ROOM}"][data-item="18"]`, { timeout: 5_000 });
    const stage = (await page.getByTestId(`wall-stage-${ROOM}`).textContent()) ?? '';
    expect(stage).toContain('第 18 项');
    expect(stage).toContain(matter);

    // Each camera's audio level reaches its meter (camera:level, about once a second).
    await page.waitForSelector(`[data-testid="level-${CAMERA}"][data-dbfs]:not([data-dbfs=""])`, { timeout: 5_000 });
    expect(Number(await attr(page, `level-${CAMERA}`, 'data-dbfs'))).toBeGreaterThan(-120);

    // Enlarged, the room plays its main stream.
    await page.getByTestId(`wall-enlarge-${ROOM}`).click();
    await page.waitForSelector(`[data-testid="wall-room-${ROOM}"][data-enlarged="true"] [data-testid="live-${CAMERA}"][data-stream="main"]`);
    await waitForTile(page, CAMERA, 'webrtc', 15_000);
    const enlarged = await expectTimeCodeAdvances(page, CAMERA);
    expect(enlarged.second.width).toBe(1280);
    await page.getByTestId('wall-back').click();
    await page.waitForSelector(`[data-testid="live-${CAMERA}"][data-stream="sub"]`);

    // The manual switch: FLV by hand, then back to automatic (WebRTC first).
    await page.getByTestId('live-mode-h1-presiding').selectOption('flv');
    await waitForTile(page, 'h1-presiding', 'flv', 20_000);
    await expectTimeCodeAdvances(page, 'h1-presiding');
    await page.getByTestId('live-mode-h1-presiding').selectOption('auto');
    await waitForTile(page, 'h1-presiding', 'webrtc', 15_000);

    // A recess shows at once, and so does the resumption.
    expect((await clerk.post(`/api/sessions/${sessionId}/recess`, { reason: '当事人请求休息' })).status).toBe(200);
    await page.waitForSelector(`[data-testid="wall-state-${ROOM}"][data-state="recess"]`, { timeout: 5_000 });
    expect(((await page.getByTestId(`wall-state-${ROOM}`).textContent()) ?? '').trim()).toBe('休庭');
    expect((await clerk.post(`/api/sessions/${sessionId}/resume`)).status).toBe(200);
    await page.waitForSelector(`[data-testid="wall-state-${ROOM}"][data-state="recording"]`, { timeout: 5_000 });

    expect(problems).toEqual([]);
  });

  test('a camera that drops out raises an alarm on the wall while it lasts, then counts as recovered, and its tile plays again', async () => {
    const { page, problems } = await openWall([]);
    await waitForTile(page, 'h1-party', 'webrtc', 15_000);
    const admin = new ApiClient(server.url);
    await admin.login('admin');
    const cameras = (await admin.get('/api/cameras')).json as { id: string; source: { url: string } }[];
    const control = `http://${new URL(cameras.find((c) => c.id === 'h1-party')!.source.url).host}/simulator/faults`;
    await fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unresponsive: true }) });
    await fetch(`${control}/drop`, { method: 'POST' });
    try {
      const alarm = page.locator(`[data-testid="wall-alarms-${ROOM}"] [data-kind="interruption"]`);
      await alarm.waitFor({ timeout: 15_000 });
      expect(await alarm.textContent()).toContain('当事人');
    } finally {
      await fetch(`${control}/clear`, { method: 'POST' });
    }
    await page.locator(`[data-testid="wall-alarms-${ROOM}"] [data-kind="interruption"]`).waitFor({ state: 'detached', timeout: 20_000 });
    expect(await page.getByTestId(`wall-alarms-${ROOM}`).textContent()).toContain('本场已恢复的中断 1 次');
    await waitForTile(page, 'h1-party', 'webrtc', 30_000);
    await expectTimeCodeAdvances(page, 'h1-party');
    expect(problems).toEqual([]);
  });

  test('a killed WebRTC worker restarts and the tile watches again by itself, over WebRTC', async () => {
    const { page, problems } = await openWall([]);
    await waitForTile(page, CAMERA, 'webrtc', 15_000);
    await expectTimeCodeAdvances(page, CAMERA);
    const pid = workerPid();
    expect(pid).not.toBeNull();
    process.kill(pid!, 'SIGKILL');
    const killedAt = Date.now();
    // live:ended reaches the page: the tile leaves `playing` and watches again.
    await page.waitForSelector(`[data-testid="live-${CAMERA}"]:not([data-status="playing"])`, { timeout: 10_000 });
    await waitForTile(page, CAMERA, 'webrtc', 30_000);
    const { second } = await expectTimeCodeAdvances(page, CAMERA);
    expect(second.value).toBeGreaterThan(killedAt);
    expect(await attr(page, `live-${CAMERA}`, 'data-fell-back')).toBe('false');
    expect(workerPid()).not.toBe(pid);
    expect(problems).toEqual([]);
  });

  test('when the socket drops and reconnects, the tile watches again at once, over WebRTC', async () => {
    const { page, problems } = await openWall([]);
    await waitForTile(page, CAMERA, 'webrtc', 15_000);
    await page.waitForSelector('[data-testid="connection-state"][data-state="online"]');
    // The browser reports the network lost: socket.io closes its connection and reconnects (the
    // server ends the viewers of the old socket).
    await page.evaluate("window.dispatchEvent(new Event('offline'))");
    await page.waitForSelector('[data-testid="connection-state"][data-state="offline"]', { timeout: 5_000 });
    await page.waitForSelector('[data-testid="connection-state"][data-state="online"]', { timeout: 15_000 });
    const reconnectedAt = Date.now();
    // At once, not after the 6 s stall check.
    await page.waitForSelector(`[data-testid="live-${CAMERA}"]:not([data-status="playing"])`, { timeout: 3_000 });
    await waitForTile(page, CAMERA, 'webrtc', 15_000);
    const { second } = await expectTimeCodeAdvances(page, CAMERA);
    expect(second.value).toBeGreaterThan(reconnectedAt);
    expect(problems).toEqual([]);
  });

  test('with WebRTC blocked by a Chromium switch the tile falls back to FLV by itself and the time code advances', async () => {
    const { page, problems } = await openWall([BLOCK_WEBRTC]);
    expect(await attr(page, `live-${CAMERA}`, 'data-transport')).toBe('webrtc'); // WebRTC is tried first
    await waitForTile(page, CAMERA, 'flv', 30_000);
    expect(await attr(page, `live-${CAMERA}`, 'data-fell-back')).toBe('true');
    await expectTimeCodeAdvances(page, CAMERA);
    // The stage marked so far is read with the session when the wall opens.
    const current = ((await clerk.get(`/api/sessions/${sessionId}`)).json as { currentStage: { item: number } | null }).currentStage;
    expect(await attr(page, `wall-stage-${ROOM}`, 'data-item')).toBe(String(current?.item ?? ''));
    expect(problems).toEqual([]);
  });
});
