// The administrator pages in Chromium: the security officer creates an account and resets its
// password (each generated password shown once), the new user must change it before anything else,
// the auditor reads the audit log and verifies its hash chain, and a clerk is kept out of /admin.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSession } from './browser-session.ts';

const session = useBrowserSession();
const { origin, login } = session;
const newPage = () => session.newPage();

async function logout(page: Page): Promise<void> {
  await page.getByTestId('logout').click();
  await page.waitForURL(`${origin()}/login`);
}

/** The initial password currently shown, once it differs from `previous`. */
async function shownPassword(page: Page, previous = ''): Promise<string> {
  const handle = await page.waitForFunction((prev) => {
    const doc = (globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document;
    const value = doc.querySelector('[data-testid="initial-password"]')?.value ?? '';
    return value !== '' && value !== prev ? value : null;
  }, previous);
  return (await handle.jsonValue()) as string;
}

describe('administrator pages', { timeout: 60_000 }, () => {
  let initialPassword = '';

  test('security creates a clerk and resets the password, each generated password shown once', async () => {
    const page = await newPage();
    await login(page, 'security');
    await page.waitForURL(`${origin()}/admin`);
    await page.getByTestId('user-clerk').waitFor();

    await page.getByTestId('user-create-open').click();
    await page.getByTestId('user-new-username').fill('e2e-clerk');
    await page.getByTestId('user-new-displayname').fill('测试书记员');
    await page.getByTestId('user-new-role-clerk').check();
    await page.getByTestId('user-new-room-hearing-1').check();
    await page.getByTestId('user-create-submit').click();
    const created = await shownPassword(page);
    const row = page.getByTestId('user-e2e-clerk');
    await row.waitFor();
    expect(await row.textContent()).toContain('测试书记员');

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('user-reset-e2e-clerk').click();
    initialPassword = await shownPassword(page, created);

    // Gone for good after a reload: the page never stores it.
    await page.reload();
    await page.getByTestId('user-e2e-clerk').waitFor();
    expect(await page.getByTestId('initial-password').count()).toBe(0);
    await logout(page);
    await page.close();
  });

  test('the new clerk must change the generated password before seeing any room', async () => {
    expect(initialPassword).not.toBe('');
    const page = await newPage();
    await login(page, 'e2e-clerk', initialPassword);
    await page.getByTestId('change-password').waitFor();
    expect(await page.getByTestId('room-hearing-1').count()).toBe(0);

    await page.getByTestId('pw-current').fill(initialPassword);
    await page.getByTestId('pw-new').fill('Heard-in-room-1!');
    await page.getByTestId('pw-confirm').fill('Heard-in-room-2!');
    await page.getByTestId('pw-submit').click();
    await page.getByTestId('pw-error').waitFor();
    expect(await page.getByTestId('pw-error').textContent()).toContain('两次输入的新密码不一致');

    await page.getByTestId('pw-confirm').fill('Heard-in-room-1!');
    await page.getByTestId('pw-submit').click();
    await page.getByTestId('room-hearing-1').waitFor();
    expect(new URL(page.url()).pathname).toBe('/console');
    await logout(page);
    await page.close();
  });

  test('the auditor reads the audit log and the chain verifies intact', async () => {
    const page = await newPage();
    await login(page, 'auditor');
    await page.waitForURL(`${origin()}/admin`);
    await page.getByTestId('audit-table').waitFor();
    expect(await page.getByTestId('audit-table').textContent()).toContain('e2e-clerk');
    expect(await page.getByTestId('audit-newer').isDisabled()).toBe(true);

    await page.getByTestId('audit-verify').click();
    const result = page.getByTestId('audit-verify-result');
    await result.waitFor();
    expect(await result.getAttribute('data-ok')).toBe('true');
    expect(await result.textContent()).toContain('哈希链完整');
    await logout(page);
    await page.close();
  });

  test('a clerk opening /admin sees a clear no-permission message', async () => {
    const page = await newPage();
    await login(page, 'clerk');
    await page.waitForURL(`${origin()}/console`);
    await page.goto(`${origin()}/admin`);
    await page.getByTestId('no-permission').waitFor();
    expect(await page.getByTestId('no-permission').textContent()).toContain('无权访问');
    expect(await page.getByTestId('admin-users').count()).toBe(0);
    await logout(page);
    await page.close();
  });
});
