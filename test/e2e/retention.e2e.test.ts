// Retention in Chromium: an interview sealed past its (shortened) retention is listed for legal staff;
// a legal hold placed on its case takes it off the list until released; a legal user requests its
// destruction and cannot approve it; a second legal user approves after a confirming click (the
// supervisor's approval is in the integration test); the media is gone, the manifest and the
// destruction record stay, and replay answers 409 `destroyed`.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { recordHearing } from '../helpers/hearing.ts';
import { ApiClient } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { useBrowserSession } from './browser-session.ts';

const s = useBrowserSession({
  server: {
    simulator: true,
    demoOverrides: { recording: { preRollS: 0, segmentSeconds: 1 }, retention: { classes: { interview: { days: 0 } } }, evidence: { scrubIntervalS: 0 } },
  },
});
let sessionId: string;
let sessionDir: string;
const SECOND_LEGAL = { username: 'legal-2', password: 'Xw9!second-Desk' };

beforeAll(async () => {
  const admin = new ApiClient(s.server.url);
  await admin.login('admin');
  await waitFor(async () => ((await admin.get('/api/cameras')).json as { state: string }[]).every((c) => c.state === 'online'), 60_000, 'cameras online');
  const clerk = new ApiClient(s.server.url);
  await clerk.login('clerk');
  sessionId = await recordHearing(clerk, { caseNumber: '秦应急罚〔2026〕81号', title: '询问（保存期限测试）', procedure: 'interview', roomId: 'interview-1', stages: [16], stageMs: 3000, seal: true });
  const manifest = (await clerk.get(`/api/sessions/${sessionId}`)).json.manifest.file as string;
  sessionDir = join(s.server.dataDir, manifest, '..');
  // Another member of the legal office, set up by security staff as in real use.
  const security = new ApiClient(s.server.url);
  await security.login('security');
  const created = await security.post('/api/users', { username: SECOND_LEGAL.username, displayName: '法制科 二', roles: ['legal'] });
  expect(created.status, created.text).toBe(201);
  const second = new ApiClient(s.server.url);
  await second.login(SECOND_LEGAL.username, created.json.initialPassword);
  expect((await second.post('/api/auth/password', { currentPassword: created.json.initialPassword, newPassword: SECOND_LEGAL.password })).status).toBe(204);
}, 180_000);

const mediaFiles = () => readdirSync(sessionDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts'));

describe('retention in the browser', { timeout: 120_000 }, () => {
  test('legal staff see the session past retention, hold its case off the list, and request its destruction', async () => {
    const page = await s.newPage();
    await s.login(page, 'legal');
    await page.waitForURL(`${s.origin()}/replay`);
    await page.getByTestId('tab-retention').click();
    const row = page.getByTestId(`retention-candidate-${sessionId}`);
    await row.waitFor();
    expect(await row.textContent()).toContain('0 天');

    // A legal hold on the case: nothing of it may be destroyed, so it leaves the list.
    await row.getByRole('link').click();
    await page.getByTestId('legal-hold-none').waitFor();
    await page.getByTestId('legal-hold-reason').fill('行政复议期间');
    await page.getByTestId('legal-hold-place').click();
    expect(await page.getByTestId('legal-hold-active').textContent()).toContain('行政复议期间');
    await page.goto(`${s.origin()}/replay`);
    await page.getByTestId('tab-retention').click();
    await page.getByTestId('retention-none').waitFor();

    // Released: listed again.
    await page.goto(`${s.origin()}/replay?session=${encodeURIComponent(sessionId)}`);
    await page.getByTestId('legal-hold-reason').fill('复议结束');
    await page.getByTestId('legal-hold-release').click();
    await page.getByTestId('legal-hold-none').waitFor();
    await page.goto(`${s.origin()}/replay`);
    await page.getByTestId('tab-retention').click();
    await row.getByTestId('destruction-reason').fill('保存期限届满');
    await row.getByTestId('destruction-request').click();
    const request = page.getByTestId(`destruction-request-${sessionId}`);
    await request.waitFor();
    expect(await request.textContent()).toContain('保存期限届满');
    // The requester cannot be the approver.
    expect(await request.getByTestId('destruction-approve').count()).toBe(0);
    expect(mediaFiles().length).toBeGreaterThan(0);
  });

  test('a second legal user approves after confirming: the media is removed, the manifest and the destruction record stay', async () => {
    const page = await s.newPage();
    await s.login(page, SECOND_LEGAL.username, SECOND_LEGAL.password);
    await page.waitForURL(`${s.origin()}/replay`);
    await page.getByTestId('tab-retention').click();
    const request = page.getByTestId(`destruction-request-${sessionId}`);
    await request.getByTestId('destruction-approve').click();
    expect(mediaFiles().length).toBeGreaterThan(0); // one click is not enough
    await request.getByTestId('destruction-confirm').click();
    await page.getByTestId('retention-none').waitFor();

    expect(mediaFiles()).toEqual([]);
    expect(existsSync(join(sessionDir, 'manifest.json'))).toBe(true);
    const supervisor = new ApiClient(s.server.url);
    await supervisor.login('supervisor');
    const record = (await supervisor.get(`/api/sessions/${sessionId}/destruction-record`)).json;
    expect(record).toMatchObject({ sessionId, requestedBy: 'legal', approvedBy: SECOND_LEGAL.username, reason: '保存期限届满' });
    expect(record.files.length).toBeGreaterThan(0);
    const replay = await supervisor.get(`/api/sessions/${sessionId}/cameras/${record.files[0].file.split('/').at(-2)}/index.m3u8`);
    expect(replay.status).toBe(409);
    expect(replay.json.error.code).toBe('destroyed');
  });
});
