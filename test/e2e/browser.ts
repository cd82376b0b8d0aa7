// Headless Debian Chromium for browser tests, in a fresh profile. `hr.test` resolves to loopback so a
// page can be opened through a non-loopback host name: over plain HTTP that is not a secure context,
// like an operator's browser reaching the server by its LAN address.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** A host name that maps to 127.0.0.1 inside the test browser only. */
export const TEST_HOST = 'hr.test';

export interface TestBrowser {
  context: BrowserContext;
  profileDir: string;
  /** Close the browser and delete its profile; safe to call twice. */
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: { viewport?: { width: number; height: number }; locale?: string; /** Extra Chromium switches. */ args?: string[] } = {},
): Promise<TestBrowser> {
  const profileDir = await mkdtemp(join(tmpdir(), 'hr-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport: opts.viewport ?? { width: 1366, height: 768 },
      locale: opts.locale ?? 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        `--host-resolver-rules=MAP ${TEST_HOST} 127.0.0.1`,
        ...(opts.args ?? []),
      ],
    });
  } catch (e) {
    await rm(profileDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    context,
    profileDir,
    async close() {
      if (closed) return;
      closed = true;
      await context.close().catch(() => {});
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}
