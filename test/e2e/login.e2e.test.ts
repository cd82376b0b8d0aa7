// Chromium logs in as the demo clerk through a non-loopback host name (not a secure context) and
// sees both demo rooms with their cameras; a wrong password is refused on the page.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSession } from './browser-session.ts';

const session = useBrowserSession();
const { origin } = session;

async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await session.newPage();
  // Script errors, CSP refusals and header warnings fail the test. Not counted: the expected 401 of
  // /api/auth/me before login.
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() !== 'error' || text.startsWith('Failed to load resource')) return;
    problems.push(`console: ${text}`);
  });
  return { page, problems };
}

async function text(page: Page, testId: string): Promise<string> {
  return ((await page.getByTestId(testId).textContent()) ?? '').trim();
}

async function waitForText(page: Page, testId: string, expected: string): Promise<void> {
  await page.waitForFunction(
    ([id, want]) => {
      const el = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector(
        `[data-testid="${id}"]`,
      );
      return el?.textContent?.trim() === want;
    },
    [testId, expected] as const,
  );
}

describe('login through a LAN-style host name', { timeout: 60_000 }, () => {
  test('Chromium logs in as clerk through hr.test and sees both demo rooms', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${origin()}/`);
    await page.waitForURL(`${origin()}/login`);

    // Plain HTTP on a non-loopback name: not a secure context, so no crypto.randomUUID either.
    expect(await page.evaluate('window.isSecureContext')).toBe(false);
    expect(await page.evaluate('typeof crypto.randomUUID')).toBe('undefined');

    await page.getByTestId('demo-banner').waitFor({ state: 'visible' });
    expect(await text(page, 'demo-banner')).toContain('DEMO');
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');

    await page.getByTestId('login-username').fill('clerk');
    await page.getByTestId('login-password').fill('clerk-demo');
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${origin()}/console`);

    expect(await text(page, 'header-user')).not.toBe('');
    expect(await text(page, 'header-role')).toBe('书记员');

    const rooms: Record<string, { name: string; cameras: Record<string, string> }> = {
      'hearing-1': { name: '听证室一', cameras: { 'h1-wide': '全景', 'h1-presiding': '主持人', 'h1-party': '当事人' } },
      'interview-1': { name: '询问室一', cameras: { 'i1-wide': '', 'i1-subject': '' } },
    };
    for (const [roomId, room] of Object.entries(rooms)) {
      const card = page.getByTestId(`room-${roomId}`);
      await card.waitFor({ state: 'visible' });
      expect(await card.textContent()).toContain(room.name);
      for (const [cameraId, position] of Object.entries(room.cameras)) {
        const tile = card.getByTestId(`camera-${cameraId}`);
        await tile.waitFor({ state: 'visible' });
        const tileText = (await tile.textContent()) ?? '';
        if (position) expect(tileText).toContain(position);
        expect(await tile.getAttribute('data-state')).toMatch(/^(unknown|probing|online|unauthorized|unreachable|unsupported)$/);
      }
    }
    expect(await text(page, 'recording-state')).toBe('未录制');
    // The socket.io connection comes up through the same non-loopback origin.
    await waitForText(page, 'connection-state', 'online');

    await page.screenshot({ path: '/tmp/console.png' });

    await page.getByTestId('lang-switch').click();
    await waitForText(page, 'recording-state', 'Not recording');
    expect(await text(page, 'header-role')).toBe('Clerk');
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    expect(await page.evaluate("localStorage.getItem('hr.lang')")).toBe('en');

    await page.getByTestId('logout').click();
    await page.waitForURL(`${origin()}/login`);
    await page.getByTestId('login-username').waitFor({ state: 'visible' });
    // The choice of language outlives the session.
    expect(await text(page, 'login-submit')).toBe('Sign in');
    expect(await page.evaluate("fetch('/api/auth/me').then((r) => r.status)")).toBe(401);

    expect(problems).toEqual([]);
    await page.close();
  });

  test('a wrong password shows login-error and stays on /login', async () => {
    const { page, problems } = await newPage();
    await page.goto(`${origin()}/login`);
    await page.evaluate("localStorage.removeItem('hr.lang')");
    await page.reload();

    await page.getByTestId('login-username').fill('clerk');
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    const error = page.getByTestId('login-error');
    await error.waitFor({ state: 'visible' });
    expect((await error.textContent())?.trim()).toBe('用户名或密码错误。');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.getByTestId('header-user').count()).toBe(0);

    expect(problems).toEqual([]);
    await page.close();
  });
});
