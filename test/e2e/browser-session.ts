// One test server and one Chromium for a whole e2e file: started in beforeAll, closed in afterAll.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { launchBrowser, TEST_HOST, type TestBrowser } from './browser.ts';

export interface BrowserSession {
  readonly server: TestServer;
  readonly browser: TestBrowser;
  /** The server through the non-loopback test host name (not a secure context, like a LAN address). */
  origin(): string;
  /** A new page, logged out: cookies of earlier tests are cleared. */
  newPage(timeoutMs?: number): Promise<Page>;
  /** Fills the login form; the caller waits for where the role lands. */
  login(page: Page, username: string, password?: string): Promise<void>;
}

export function useBrowserSession(
  options: { server?: Parameters<typeof startTestServer>[0]; viewport?: { width: number; height: number } } = {},
): BrowserSession {
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    server = await startTestServer(options.server);
    browser = await launchBrowser({ viewport: options.viewport ?? { width: 1366, height: 768 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 30_000);

  const session: BrowserSession = {
    get server() {
      if (!server) throw new Error('server not started');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('browser not started');
      return browser;
    },
    origin: () => `http://${TEST_HOST}:${session.server.port}`,
    async newPage(timeoutMs = 15_000) {
      await session.browser.context.clearCookies();
      const page = await session.browser.context.newPage();
      page.setDefaultTimeout(timeoutMs);
      return page;
    },
    async login(page, username, password = `${username}-demo`) {
      await page.goto(`${session.origin()}/login`);
      await page.getByTestId('login-username').fill(username);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
    },
  };
  return session;
}
