// The clerk console in Chromium through a LAN-style host name (plain HTTP, no crypto.randomUUID),
// against the real server and the simulated hearing room: bad input is refused inline with nothing
// saved; a pre-flight check fails (a silenced camera) and the override is recorded as a note; the
// eight hearing stages are marked by keyboard while a supervisor's wall in another browser follows
// each change; a note, an undone mark, a recess; a stage clicked while the browser is offline arrives
// after reconnection, placed at its click and flagged delayed, exactly once; a camera dropping out
// raises an alarm that stays until acknowledged; the browser closed mid-session stops nothing and a
// new browser finds the running session; stop, explanations, compliance, seal and the printable seal
// certificate with the manifest's fingerprint and a QR code.
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { launchBrowser, TEST_HOST, type TestBrowser } from './browser.ts';

const ROOM = 'hearing-1';
const CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
const STAGES = [18, 19, 20, 21, 22, 23, 24, 25];
const CASE_NUMBER = '秦应急罚〔2026〕21号';
/** Chromium leaves loopback out of ICE unless told: the demo's WebRTC binds 127.0.0.1 only. */
const ALLOW_LOOPBACK = '--allow-loopback-in-peer-connection';

interface MarkRecord {
  id: string;
  clientId: string;
  item: number | null;
  note: string | null;
  clientTime: string;
  clockOffsetMs: number | null;
  serverTime: string;
  effectiveAt: string;
  delayed: boolean;
}
interface SessionJson {
  id: string;
  state: string;
  caseNumber: string;
  currentStage: { item: number } | null;
  marks: { id: string; item: number | null; note: string | null; voided: boolean; delayed: boolean; effectiveAt: string }[];
  records: { marks: MarkRecord[]; corrections: { markId: string; kind: string; reason: string }[] };
  interruptions: { id: number; cameraId: string | null; cause: string; endedAt: string | null; explanation: string | null }[];
  manifest: { sha256: string; keyFingerprint: string | null } | null;
}

let server: TestServer;
let clerk: ApiClient;
let admin: ApiClient;
let clerkBrowser: TestBrowser | undefined;
let wallBrowser: TestBrowser | undefined;
let page: Page;
let wall: Page;
let sessionId: string;
const problems: string[] = [];

const origin = () => `http://${TEST_HOST}:${server.port}`;
const session = async () => (await clerk.get(`/api/sessions/${sessionId}`)).json as SessionJson;
const segmentCount = async () => ((await clerk.get(`/api/sessions/${sessionId}/segments`)).json as unknown[]).length;

async function faultControl(cameraId: string): Promise<string> {
  const cameras = (await admin.get('/api/cameras')).json as { id: string; source: { url: string } }[];
  return `http://${new URL(cameras.find((c) => c.id === cameraId)!.source.url).host}/simulator/faults`;
}

async function setFaults(cameraId: string, faults: Record<string, boolean> | 'clear' | 'drop'): Promise<void> {
  const control = await faultControl(cameraId);
  const response =
    typeof faults === 'string'
      ? await fetch(`${control}/${faults}`, { method: 'POST' })
      : await fetch(control, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(response.ok).toBe(true);
}

async function openConsole(browser: TestBrowser): Promise<Page> {
  const p = await browser.context.newPage();
  p.setDefaultTimeout(20_000);
  p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await p.goto(`${origin()}/login`);
  await p.getByTestId('login-username').fill('clerk');
  await p.getByTestId('login-password').fill('clerk-demo');
  await p.getByTestId('login-submit').click();
  await p.waitForURL(`${origin()}/console`);
  return p;
}

/** Screenshots for a person to look at, with HR_SHOTS=dir set. */
async function shot(p: Page, name: string): Promise<void> {
  if (process.env.HR_SHOTS) await p.screenshot({ path: `${process.env.HR_SHOTS}/console-${name}.png`, timeout: 30_000 }).catch(() => {});
}

async function text(p: Page, testId: string): Promise<string> {
  return ((await p.getByTestId(testId).first().textContent()) ?? '').trim();
}

/** Presses a key with the focus outside any text field (Escape leaves one), as a clerk would. */
async function key(p: Page, k: string): Promise<void> {
  await p.keyboard.press('Escape');
  await p.keyboard.press(k);
}

async function waitForStage(item: number): Promise<void> {
  await page.waitForSelector(`[data-testid="stage-${item}"][data-current="true"]`);
  // The supervisor's wall, another browser, shows the same stage as it happens.
  await wall.waitForSelector(`[data-testid="wall-stage-${ROOM}"][data-item="${item}"]`);
}

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
  clerk = new ApiClient(server.url);
  await clerk.login('clerk');
  admin = new ApiClient(server.url);
  await admin.login('admin');
  await waitFor(
    async () => ((await admin.get('/api/cameras')).json as { id: string; state: string }[]).filter((c) => CAMERAS.includes(c.id)).every((c) => c.state === 'online'),
    30_000,
    'the hearing room cameras online',
  );
  clerkBrowser = await launchBrowser({ args: [ALLOW_LOOPBACK] });
  page = await openConsole(clerkBrowser);
}, 120_000);

afterAll(async () => {
  await clerkBrowser?.close();
  await wallBrowser?.close();
  await server?.stop();
}, 30_000);

describe('clerk console', { timeout: 120_000 }, () => {
  // One hearing, step by step: a step after a failed one would only fail again.
  let failed = false;
  beforeEach((ctx) => {
    if (failed) ctx.skip();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  test('bad input gets an inline message and nothing is saved', async () => {
    expect(await page.evaluate('typeof crypto.randomUUID')).toBe('undefined');
    await page.getByTestId(`pick-room-${ROOM}`).click();
    await page.getByTestId('setup-form').waitFor();
    expect(await text(page, 'recording-state')).toBe('未录制');

    // Empty case number.
    await page.getByTestId('setup-title').fill('行政处罚听证');
    await page.getByTestId('participant-name-0').fill('张主持');
    await page.getByTestId('setup-submit').click();
    expect(await text(page, 'setup-error-case-number')).toBe('请填写案号。');

    // A badge number given twice.
    await page.getByTestId('setup-case-number').fill(CASE_NUMBER);
    await page.getByTestId('participant-add').click();
    await page.getByTestId('participant-name-1').fill('李调查');
    await page.getByTestId('participant-role-1').selectOption('investigator');
    await page.getByTestId('participant-badge-1').fill('13000001');
    await page.getByTestId('participant-add').click();
    await page.getByTestId('participant-name-2').fill('王调查');
    await page.getByTestId('participant-role-2').selectOption('investigator');
    await page.getByTestId('participant-badge-2').fill('13000001');
    await page.getByTestId('setup-submit').click();
    expect(await text(page, 'participant-error-2')).toBe('执法证号 13000001 与第 2 行重复。');
    expect(await page.getByTestId('setup-error-case-number').count()).toBe(0);
    await shot(page, 'setup');

    // Nothing reached the server: no session, no case.
    expect((await clerk.get('/api/sessions')).json).toEqual([]);
    expect((await clerk.get('/api/cases')).json.total).toBe(0);
  });

  test('pre-flight shows a silenced camera as failed; starting anyway records the override as a note', async () => {
    await setFaults('h1-party', { silentAudio: true });
    await page.getByTestId('participant-badge-2').fill('13000002');
    await page.getByTestId('participant-add').click();
    await page.getByTestId('participant-name-3').fill('赵当事');
    await page.getByTestId('participant-role-3').selectOption('party');
    await page.getByTestId('setup-submit').click();

    await page.getByTestId('preflight').waitFor();
    sessionId = (await clerk.get('/api/sessions')).json[0].id;
    // Every camera of the room has its picture, level and state checked.
    await page.waitForSelector('[data-testid="pre-h1-party-audio"][data-verdict="fail"]');
    await page.waitForSelector('[data-testid="pre-h1-wide-audio"][data-verdict="ok"]');
    for (const id of CAMERAS) expect(await page.getByTestId(`pre-${id}-state`).getAttribute('data-verdict')).toBe('ok');
    await page.waitForSelector('[data-testid="pre-h1-wide-picture"][data-verdict="ok"]');
    await page.waitForSelector('[data-testid="pre-console-clock"][data-verdict="ok"]');
    // The server's side: the camera's ONVIF clock, the disk level, and the OS clock sync as reported.
    await page.waitForSelector('[data-testid="pre-h1-wide-clock"][data-verdict="ok"]');
    await page.waitForSelector('[data-testid="pre-disk"][data-verdict="ok"]');
    expect(['ok', 'fail', 'na']).toContain(await page.getByTestId('pre-server-clock').getAttribute('data-verdict'));
    expect(await page.getByTestId('preflight').getAttribute('data-passed')).toBe('false');

    // The wall of a supervisor, in another browser.
    wallBrowser = await launchBrowser();
    wall = await wallBrowser.context.newPage();
    wall.setDefaultTimeout(20_000);
    wall.on('pageerror', (e) => problems.push(`wall pageerror: ${e.message}`));
    await wall.goto(`${origin()}/login`);
    await wall.getByTestId('login-username').fill('supervisor');
    await wall.getByTestId('login-password').fill('supervisor-demo');
    await wall.getByTestId('login-submit').click();
    await wall.waitForURL(`${origin()}/wall`);
    await wall.getByTestId('wall-empty').waitFor();

    await page.getByTestId('console-start').click();
    const list = await text(page, 'start-anyway-list');
    expect(list).toContain('听证室一 当事人：音频过低');
    await shot(page, 'preflight');
    await page.getByTestId('start-anyway-confirm').click();
    await page.waitForSelector('[data-testid="recording-state"][data-state="recording"]');
    expect(await text(page, 'recording-state')).toBe('录制中');
    await page.getByTestId('recording-elapsed').waitFor();
    await wall.waitForSelector(`[data-testid="wall-state-${ROOM}"][data-state="recording"]`);
    await setFaults('h1-party', 'clear');

    await waitFor(async () => (await session()).records.marks.some((m) => m.note?.startsWith('开始前检查未通过：')), 10_000, 'the override note');
    const note = (await session()).records.marks.find((m) => m.note?.startsWith('开始前检查未通过：'))!;
    expect(note.note).toContain('听证室一 当事人：音频过低');
    // The clocks as the server measured them at the start.
    const serverClock = ((await clerk.get(`/api/sessions/${sessionId}`)).json.clock as { subject: string; synchronized: boolean | null }[]).find((e) => e.subject === 'server')!;
    await page.waitForSelector(`[data-testid="clock-info"][data-server-sync="${serverClock.synchronized === null ? 'unknown' : String(serverClock.synchronized)}"]`);
    // The large view and the thumbnails: a thumbnail's button swaps it into the large view.
    expect(await page.getByTestId('console-cameras').getAttribute('data-main')).toBe('h1-wide');
    await page.getByTestId('swap-h1-presiding').click();
    await page.waitForSelector('[data-testid="console-camera-h1-presiding"][data-main="true"] [data-stream="main"]');
    await page.waitForSelector('[data-testid="console-camera-h1-wide"][data-main="false"] [data-stream="sub"]');
  });

  test('the eight hearing stages by keyboard, a note, an undone mark, a recess and the resume', async () => {
    await key(page, '1');
    await waitForStage(18);
    await key(page, '2');
    await waitForStage(19);
    // A wrong key: stage 21 marked too early, then undone (U) as a void correction with a reason.
    await key(page, '4');
    await waitForStage(21);
    await key(page, 'u');
    await page.getByTestId('void-dialog').waitFor({ state: 'visible' });
    expect(await text(page, 'void-target')).toContain('第 21 项');
    await page.getByTestId('void-reason').fill('按错键，撤销');
    await page.getByTestId('void-confirm').click();
    await page.getByTestId('void-dialog').waitFor({ state: 'hidden' });
    await waitForStage(19);
    await page.waitForSelector('[data-testid="timeline-mark"][data-item="21"][data-voided="true"]');

    for (const [i, item] of STAGES.entries()) {
      if (i < 2) continue;
      await key(page, String(i + 1));
      await waitForStage(item);
      if (item === 20) {
        // A note: N goes to the note field, Enter records it.
        await key(page, 'n');
        await page.keyboard.type('当事人提交书面证据三份');
        await page.keyboard.press('Enter');
        await page.waitForSelector('[data-testid="timeline-mark"][data-item=""]:has-text("当事人提交书面证据三份")');
      }
      if (item === 22) {
        // Esc closes a dialog without doing anything.
        await key(page, 'r');
        await page.getByTestId('recess-dialog').waitFor({ state: 'visible' });
        await page.keyboard.press('Escape');
        await page.getByTestId('recess-dialog').waitFor({ state: 'hidden' });
        expect(await page.getByTestId('recording-state').getAttribute('data-state')).toBe('recording');
        // A recess (R) with its reason, then the resume; stage keys do nothing meanwhile.
        await key(page, 'r');
        await page.getByTestId('recess-dialog').waitFor({ state: 'visible' });
        await page.getByTestId('recess-reason').fill('当事人要求休息十分钟');
        await shot(page, 'recess-dialog');
        await page.keyboard.press('Enter');
        await page.waitForSelector('[data-testid="recording-state"][data-state="recess"]');
        expect(await text(page, 'recording-state')).toBe('休会中');
        await wall.waitForSelector(`[data-testid="wall-state-${ROOM}"][data-state="recess"]`);
        expect(await page.getByTestId('stage-23').isDisabled()).toBe(true);
        await page.getByTestId('console-resume').click();
        await page.waitForSelector('[data-testid="recording-state"][data-state="recording"]');
        await wall.waitForSelector(`[data-testid="wall-state-${ROOM}"][data-state="recording"]`);
      }
    }

    const s = await session();
    expect(s.currentStage?.item).toBe(25);
    const stageMarks = s.marks.filter((m) => m.item !== null && !m.voided).map((m) => m.item);
    expect(stageMarks).toEqual(STAGES);
    expect(s.records.corrections).toEqual([expect.objectContaining({ kind: 'void', reason: '按错键，撤销' })]);
    expect(s.records.corrections[0]!.markId).toBe(s.records.marks.find((m) => m.item === 21)!.id);
    expect(s.marks.some((m) => m.note === '当事人提交书面证据三份')).toBe(true);
    expect(s.interruptions.filter((x) => x.cause === 'recess')).toEqual([expect.objectContaining({ explanation: '当事人要求休息十分钟' })]);
    // Every mark went out with the measured clock offset.
    for (const m of s.records.marks) expect(typeof m.clockOffsetMs).toBe('number');
  });

  test('a stage clicked while the browser is offline arrives after reconnection with its client time, once', async () => {
    await page.context().setOffline(true);
    await page.waitForSelector('[data-testid="connection-state"][data-state="offline"]');
    await page.getByTestId('stage-25').click();
    await page.getByTestId('timeline-pending').waitFor();
    expect(await page.getByTestId('console-queue').getAttribute('data-count')).toBe('1');
    const queued = JSON.parse((await page.evaluate("localStorage.getItem('hr.console.queue')")) as string) as { clientId: string; clientTime: string }[];
    expect(queued).toHaveLength(1);
    const [entry] = queued;
    // Offline for longer than the server's 2 s threshold, so the delivery is late.
    await page.waitForFunction((clientTime) => Date.now() - Date.parse(clientTime) > 3000, entry!.clientTime, { polling: 250 });
    expect(await page.getByTestId('timeline-pending').count()).toBe(1);

    await page.context().setOffline(false);
    await page.waitForSelector('[data-testid="connection-state"][data-state="online"]');
    await page.getByTestId('timeline-pending').waitFor({ state: 'detached' });
    await page.waitForSelector('[data-testid="timeline-mark"][data-delayed="true"]');
    expect(await page.evaluate("localStorage.getItem('hr.console.queue')")).toBe('[]');

    const s = await session();
    const delivered = s.records.marks.filter((m) => m.clientId === entry!.clientId);
    expect(delivered).toHaveLength(1);
    const [mark] = delivered;
    expect(mark!.item).toBe(25);
    expect(mark!.clientTime).toBe(entry!.clientTime);
    expect(mark!.delayed).toBe(true);
    // Placed at the click (same machine: the offset is a few ms), not at the delivery.
    expect(Math.abs(Date.parse(mark!.effectiveAt) - Date.parse(mark!.clientTime))).toBeLessThan(1000);
    expect(Date.parse(mark!.serverTime) - Date.parse(mark!.clientTime)).toBeGreaterThan(2000);
    expect(s.marks.filter((m) => m.id === mark!.id)).toHaveLength(1);
  });

  test('a camera dropping out raises an alarm that stays until acknowledged', async () => {
    await setFaults('h1-party', { unresponsive: true });
    await setFaults('h1-party', 'drop');
    const alarm = page.locator('[data-testid="alarm"][data-key^="interruption:h1-party"]');
    await alarm.waitFor({ timeout: 30_000 });
    expect(await alarm.textContent()).toContain('听证室一 当事人');
    await setFaults('h1-party', 'clear');
    await waitFor(async () => (await session()).interruptions.some((x) => x.cameraId === 'h1-party' && x.endedAt !== null), 30_000, 'the gap closed');
    // Over, but still standing until the clerk acknowledges it.
    await page.waitForSelector('[data-testid="alarm"][data-key^="interruption:h1-party"]:has-text("已恢复")');
    await shot(page, 'alarm');
    await alarm.getByTestId('alarm-ack').click();
    await alarm.waitFor({ state: 'detached' });
  });

  test('closing the browser mid-session stops nothing; a new browser finds the running session', async () => {
    await clerkBrowser!.close();
    clerkBrowser = undefined;
    const before = await segmentCount();
    await waitFor(async () => (await segmentCount()) >= before + 3 * CAMERAS.length, 30_000, 'segments after the browser closed');
    expect((await session()).state).toBe('recording');

    clerkBrowser = await launchBrowser({ args: [ALLOW_LOOPBACK] });
    page = await openConsole(clerkBrowser);
    await page.waitForSelector('[data-testid="console"][data-phase="run"]');
    expect(await text(page, 'console-case')).toBe(CASE_NUMBER);
    await page.waitForSelector('[data-testid="stage-25"][data-current="true"]');
    expect(await page.getByTestId('timeline-mark').count()).toBe((await session()).marks.length);
  });

  test('stop, explain the interruption, review, seal, and the printable seal certificate', async () => {
    await page.getByTestId('console-stop').click();
    await page.getByTestId('stop-confirm').click();
    await page.waitForSelector('[data-testid="console"][data-phase="after"]');
    await wall.getByTestId('wall-empty').waitFor();

    const s = await session();
    const recess = s.interruptions.find((x) => x.cause === 'recess')!;
    const gap = s.interruptions.find((x) => x.cameraId === 'h1-party')!;
    expect(await page.getByTestId(`interruption-${recess.id}`).getAttribute('data-explained')).toBe('true');
    expect(await page.getByTestId(`interruption-${gap.id}`).getAttribute('data-explained')).toBe('false');
    expect(await page.getByTestId('console-seal').isDisabled()).toBe(true);
    await page.getByTestId('findings').waitFor();
    expect(await page.locator('[data-testid="finding"][data-rule="interruptions"][data-severity="error"]').count()).toBe(1);

    await shot(page, 'after');
    await page.getByTestId(`explain-text-${gap.id}`).fill('当事人摄像机网线松动，已重新插好');
    await page.getByTestId(`explain-save-${gap.id}`).click();
    await page.waitForSelector(`[data-testid="interruption-${gap.id}"][data-explained="true"]`);
    // The review is read again: the stages were all marked in order, the interruption is explained.
    await page.waitForSelector('[data-testid="finding"][data-rule="interruptions"][data-severity="error"]', { state: 'detached' });
    for (const rule of ['stages-marked', 'stages-order', 'officer-count']) expect(await page.locator(`[data-testid="finding"][data-rule="${rule}"]`).count()).toBe(0);

    await page.getByTestId('console-seal').click();
    await page.getByTestId('seal-confirm').click();
    await page.getByTestId('seal-certificate').waitFor();
    const sealed = await session();
    expect(sealed.state).toBe('sealed');
    const sha = sealed.manifest!.sha256;
    expect(await text(page, 'seal-fingerprint')).toBe(sha.slice(0, 16).toUpperCase().match(/.{4}/g)!.join(' '));
    expect(await text(page, 'seal-sha256')).toContain(sha);
    // The key that signed the manifest, in full: what an offline verification anchors with --key.
    expect(await text(page, 'seal-key-fingerprint')).toBe(sealed.manifest!.keyFingerprint!.match(/.{4}/g)!.join(' '));
    expect(await text(page, 'cert-case')).toBe(CASE_NUMBER);
    expect(await page.locator('[data-testid="seal-qr"] svg').count()).toBe(1);
    for (const id of CAMERAS) await page.getByTestId(`cert-camera-${id}`).waitFor();

    // Printed, the certificate is all there is on the page.
    await page.emulateMedia({ media: 'print' });
    expect(await page.getByTestId('seal-certificate').isVisible()).toBe(true);
    expect(await page.getByTestId('seal-fingerprint').isVisible()).toBe(true);
    expect(await page.locator('[data-testid="seal-qr"] svg').isVisible()).toBe(true);
    expect(await page.getByTestId('header-user').isVisible()).toBe(false);
    expect(await page.getByTestId('seal-print').isVisible()).toBe(false);
    await shot(page, 'print');
    await page.emulateMedia({ media: 'screen' });

    expect(problems).toEqual([]);
  });
});
