// Portable devices (执法记录仪) in Chromium: the admin registers one and sees its push URL once, a real
// ffmpeg pushes to that URL and the admin's list shows it pushing; the clerk adds it to his running
// session from the console; the admin disables it, which cuts the push.
import { afterAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startPush, type RtmpPush } from '../helpers/rtmp-push.ts';
import { ApiClient } from '../helpers/server.ts';
import { useBrowserSession } from './browser-session.ts';

const session = useBrowserSession({ server: { demoOverrides: { mediaServer: { rtmpPort: 0 } } } });
const { origin } = session;

let device: { id: string; pushUrl: string } | null = null;
let pushing: RtmpPush | null = null;
let sessionId = '';

afterAll(() => {
  pushing?.child.kill('SIGKILL');
});

/** A screenshot for a person to look at, when HR_SHOTS names a folder. */
const shot = async (page: Page, name: string) => {
  if (process.env.HR_SHOTS) await page.screenshot({ path: `${process.env.HR_SHOTS}/devices-${name}.png`, fullPage: true, timeout: 30_000 }).catch(() => {});
};

async function adminPage(): Promise<Page> {
  const page = await session.newPage(20_000);
  await session.login(page, 'admin');
  await page.waitForURL(`${origin()}/admin`);
  await page.getByTestId('admin-devices').waitFor();
  return page;
}

describe('portable devices in the UI', { timeout: 120_000 }, () => {
  test('the admin registers a device and sees its push URL with the key once', async () => {
    const page = await adminPage();
    await page.getByTestId('device-add').click();
    // Bad input is refused by the server with its message, and nothing is registered.
    await page.getByTestId('device-new-name').fill('执法记录仪 01');
    await page.getByTestId('device-new-officer').fill('李执法');
    await page.getByTestId('device-new-badge').fill('1'.repeat(32));
    await page.getByTestId('device-new-badge').evaluate((el) => el.removeAttribute('maxlength'));
    await page.getByTestId('device-new-badge').fill('1'.repeat(33));
    await page.getByTestId('device-register-submit').click();
    expect(await page.getByTestId('device-register-error').textContent()).toContain('badgeNumber');
    expect(await page.getByTestId('admin-devices').locator('tbody tr[data-testid^="device-row-"]').count()).toBe(0);

    await page.getByTestId('device-new-badge').fill('13000101');
    await page.getByTestId('device-register-submit').click();
    const reveal = page.getByTestId('admin-devices').getByTestId('initial-password-panel');
    await reveal.waitFor();
    expect(await reveal.textContent()).toContain('设备“执法记录仪 01”的推流地址');
    const pushUrl = await reveal.getByTestId('initial-password').inputValue();
    const match = /^rtmp:\/\/127\.0\.0\.1:\d+\/device\/(dev-[0-9a-f]{10})\?key=([\w-]{43})$/.exec(pushUrl);
    expect(match, pushUrl).not.toBeNull();
    device = { id: match![1]!, pushUrl };
    await shot(page, 'registered');
    const row = page.getByTestId(`device-row-${device.id}`);
    expect(await row.textContent()).toContain('李执法');
    expect(await row.textContent()).toContain('13000101');
    expect(await page.getByTestId(`device-state-${device.id}`).textContent()).toContain('未推流');

    // Once: after a reload the key is nowhere on the page.
    await page.reload();
    await page.getByTestId(`device-row-${device.id}`).waitFor();
    expect(await page.getByTestId('initial-password-panel').count()).toBe(0);
    expect(await page.content()).not.toContain(match![2]!);
    await page.close();
  });

  test('ffmpeg pushes to that URL and the list shows the device pushing', async () => {
    expect(device).not.toBeNull();
    const page = await adminPage();
    pushing = startPush(device!.pushUrl, 60);
    await page.waitForSelector(`[data-testid="device-row-${device!.id}"][data-live="true"]`, { timeout: 20_000 });
    expect(await page.getByTestId(`device-state-${device!.id}`).textContent()).toContain('正在推流');
    expect(await page.getByTestId('devices-summary').textContent()).toBe('1 台 · 1 台正在推流');
    await shot(page, 'live');
    await page.close();
  });

  test('the clerk adds the pushing device to his running session from the console', async () => {
    expect(device).not.toBeNull();
    const clerk = new ApiClient(session.server.url);
    await clerk.login('clerk');
    const created = await clerk.post('/api/sessions', {
      caseNumber: '秦应急罚〔2026〕51号',
      title: '行政处罚听证',
      procedure: 'penalty-hearing',
      roomId: 'hearing-1',
      participants: [
        { name: '张主持', role: 'presiding' },
        { name: '李执法', role: 'officer', badgeNumber: '13000101' },
        { name: '赵当事', role: 'party' },
      ],
    });
    expect(created.status, created.text).toBe(201);
    sessionId = created.json.id as string;
    expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);

    const page = await session.newPage(20_000);
    await session.login(page, 'clerk');
    await page.waitForURL(`${origin()}/console`);
    await page.waitForSelector('[data-testid="console"][data-phase="run"]');
    const panel = page.getByTestId('session-devices');
    await panel.waitFor();
    expect(await panel.textContent()).toContain('本次记录未添加便携设备。');
    // The clerk's list offers the device by name and officer; the page never holds a key.
    await page.waitForSelector(`[data-testid="session-device-pick"] option[value="${device!.id}"]`, { state: 'attached' });
    await page.getByTestId('session-device-pick').selectOption(device!.id);
    await page.getByTestId('session-device-add').click();
    await page.waitForSelector(`[data-testid="session-device-${device!.id}"][data-live="true"]`);
    expect(await page.getByTestId(`session-device-${device!.id}`).textContent()).toContain('执法记录仪 01');
    await shot(page, 'console');
    expect(await page.content()).not.toContain(new URL(device!.pushUrl).searchParams.get('key')!);
    expect(((await clerk.get(`/api/sessions/${sessionId}/devices`)).json as { id: string }[]).map((d) => d.id)).toEqual([device!.id]);
    // Recorded into the session like a camera: hashed segments under the device's id.
    await expect
      .poll(async () => ((await clerk.get(`/api/sessions/${sessionId}/segments`)).json as { cameraId: string }[]).filter((s) => s.cameraId === device!.id).length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    await page.close();
  });

  test('the admin disables the device after confirming: its push is cut and it shows disabled', async () => {
    expect(pushing).not.toBeNull();
    const page = await adminPage();
    let confirmText = '';
    page.once('dialog', (dialog) => {
      confirmText = dialog.message();
      void dialog.accept();
    });
    await page.getByTestId(`device-disable-${device!.id}`).click();
    await page.waitForSelector(`[data-testid="device-row-${device!.id}"][data-disabled="true"]`);
    expect(confirmText).toContain(device!.id);
    expect(await page.getByTestId('devices-notice').textContent()).toBe('设备“执法记录仪 01”已停用。');
    expect(await page.getByTestId(`device-state-${device!.id}`).textContent()).toContain('已停用');
    expect(await page.getByTestId(`device-disable-${device!.id}`).count()).toBe(0);
    // The running push was cut long before its 60 s.
    expect(await pushing!.exited).not.toBe(0);
    await page.close();

    const clerk = new ApiClient(session.server.url);
    await clerk.login('clerk');
    expect(((await clerk.get('/api/devices/attachable')).json as { id: string }[]).some((d) => d.id === device!.id)).toBe(false);
    expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
  });
});
