// Legal staff export a sealed hearing in Chromium: search, open, stage 20, another main camera, then
// an export of stages 19–20 whose progress bar follows the server's export:progress events to
// "ready", a download (the browser's own download), and the zip verifies offline with
// `npx hearing-recorder verify --key` given the fingerprint the page shows. The admin's signing key
// page shows the same fingerprint; a supervisor reading the session gets no export.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HEARING_CAMERAS, hearingCamerasOnline, recordHearing } from '../helpers/hearing.ts';
import { ApiClient, REPO_ROOT } from '../helpers/server.ts';
import { pause } from '../helpers/wait.ts';
import { useBrowserSession } from './browser-session.ts';

const CASE_NUMBER = '秦应急罚〔2026〕47号';
const s = useBrowserSession({ server: { simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } } });
let sessionId: string;
let sealKey: string;
const work = mkdtempSync(join(tmpdir(), 'hr-export-e2e-'));

/** Every distinct (state, progress) the progress bar shows, in order, recorded by the page itself. */
const WATCH_PROGRESS = `() => {
  window.__progress = [];
  const panel = document.querySelector('[data-testid="export-panel"]');
  const look = () => {
    const bar = panel.querySelector('[data-testid="export-progress"]');
    if (!bar) return;
    const seen = { state: bar.dataset.state, progress: Number(bar.dataset.progress) };
    const last = window.__progress[window.__progress.length - 1];
    if (!last || last.state !== seen.state || last.progress !== seen.progress) window.__progress.push(seen);
  };
  new MutationObserver(look).observe(panel, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-progress', 'data-state'] });
}`;

function verify(zip: string, key: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // Asynchronous, so the server and the browser stay serviced while it runs.
    const child = spawn('npx', ['hearing-recorder', 'verify', zip, '--key', key], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

beforeAll(async () => {
  const admin = new ApiClient(s.server.url);
  await admin.login('admin');
  await hearingCamerasOnline(admin);
  await pause(3000); // the pre-roll is in the spool
  const clerk = new ApiClient(s.server.url);
  await clerk.login('clerk');
  sessionId = await recordHearing(clerk, { caseNumber: CASE_NUMBER, title: '听证（导出测试）', stages: [18, 19, 20], stageMs: 3000, seal: true });
  const legal = new ApiClient(s.server.url);
  await legal.login('legal');
  sealKey = (await legal.get(`/api/sessions/${sessionId}`)).json.manifest.keyFingerprint;
  expect(sealKey).toMatch(/^[0-9a-f]{64}$/);
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('export in the browser', { timeout: 180_000 }, () => {
  test('legal staff replay stage 20, export with progress, download, and the zip verifies with the fingerprint shown', async () => {
    const page = await s.newPage(20_000);
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await s.login(page, 'legal');
    await page.waitForURL(`${s.origin()}/replay`);
    await page.getByTestId('filter-case').fill('47号');
    await page.getByTestId('search-submit').click();
    await page.getByTestId(`open-${sessionId}`).click();

    await page.getByTestId('stage-20').click();
    await page.locator('[data-testid="replay-stage"]', { hasText: '20' }).waitFor();
    await page.getByTestId('main-h1-presiding').click();
    expect(await page.getByTestId('camera-h1-presiding').getAttribute('data-main')).toBe('true');

    // The fingerprint of the key that sealed the session, on the page and in the export panel.
    const shown = (await page.getByTestId('export-key-fingerprint').textContent())!.trim();
    expect(shown.replace(/\s/g, '')).toBe(sealKey);
    expect((await page.getByTestId('replay-seal-key').textContent())!.trim()).toBe(shown);

    // Stages 19 and 20 only, every camera.
    await page.getByTestId('export-stage-18').uncheck();
    await page.evaluate(`(${WATCH_PROGRESS})()`);
    await page.getByTestId('export-start').click();
    const download = page.getByTestId('export-download');
    await download.waitFor({ timeout: 120_000 });
    const steps = (await page.evaluate('window.__progress')) as { state: string; progress: number }[];
    expect(steps[steps.length - 1]).toEqual({ state: 'ready', progress: 1 });
    // The bar moved: at least one value strictly between empty and full, and never backwards.
    expect(steps.some((x) => x.state === 'running' && x.progress > 0 && x.progress < 1), JSON.stringify(steps)).toBe(true);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.progress).toBeGreaterThanOrEqual(steps[i - 1]!.progress);
    expect(await page.getByTestId('export-state').getAttribute('data-state')).toBe('ready');

    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    expect(file.suggestedFilename()).toMatch(/\.zip$/);
    const zip = join(work, file.suggestedFilename());
    await file.saveAs(zip);
    const sha256 = createHash('sha256').update(readFileSync(zip)).digest('hex');
    expect((await page.getByTestId('export-sha256').textContent())!.trim()).toBe(sha256);

    // The package holds what was chosen: working copies of stages 19 and 20 for every camera, none of 18.
    const workingCopies = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n').filter((n) => n.startsWith('working/')).sort();
    expect(workingCopies).toEqual(HEARING_CAMERAS.toSorted().flatMap((c) => [`working/${c}/stage-19.mp4`, `working/${c}/stage-20.mp4`]));

    const verified = await verify(zip, shown);
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toContain('(matches --key)');
    expect(verified.out).toContain('RESULT: INTACT');
    expect(problems).toEqual([]);
  });

  test('the admin sees the same signing key fingerprint with its public key', async () => {
    const page = await s.newPage();
    await s.login(page, 'admin');
    await page.waitForURL(/\/admin$/);
    const fingerprint = page.getByTestId('signing-key-fingerprint');
    expect(await fingerprint.getAttribute('data-fingerprint')).toBe(sealKey);
    expect((await fingerprint.textContent())!.trim()).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    expect(await page.getByTestId('signing-key-pem').textContent()).toContain('BEGIN PUBLIC KEY');
    expect(await page.getByTestId('admin-signing-key').textContent()).toContain('docs/evidence.md');
  });

  test('a supervisor reading the session has no export', async () => {
    const page = await s.newPage();
    await s.login(page, 'supervisor');
    await page.waitForURL((url) => url.pathname !== '/login');
    await page.goto(`${s.origin()}/replay?session=${encodeURIComponent(sessionId)}`);
    await page.getByTestId('stage-20').waitFor();
    expect(await page.getByTestId('export-panel').count()).toBe(0);
    expect(await page.getByTestId('export-start').count()).toBe(0);
  });
});
