// The system admin's camera page in Chromium, against the demo with its five simulated cameras: all
// five shown online with a real snapshot each, a camera added by an RTSP URL to a closed port shows
// unreachable with a reason while the others stay online, it can be removed again, and discovery of a
// simulated camera's address lists the device as already added.
import { describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { useBrowserSession } from './browser-session.ts';

const DEMO_CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party', 'i1-wide', 'i1-subject'];
const SCREENSHOT = '/tmp/admin-cameras.png';

const session = useBrowserSession({ server: { simulator: true } });
const { origin } = session;

async function adminPage(): Promise<Page> {
  const page = await session.newPage(20_000);
  await session.login(page, 'admin');
  await page.waitForURL(`${origin()}/admin`);
  return page;
}

type Doc = { querySelector(s: string): { getAttribute(n: string): string | null; naturalWidth?: number; complete?: boolean } | null };

/** Waits on the DOM until every camera's state badge reads `state`. */
async function waitForStates(page: Page, ids: string[], state: string, timeout = 45_000): Promise<void> {
  await page.waitForFunction(
    ({ ids, state }) => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      return ids.every((id) => doc.querySelector(`[data-testid="camera-state-${id}"]`)?.getAttribute('data-state') === state);
    },
    { ids, state },
    { timeout },
  );
}

describe('admin camera page', { timeout: 120_000 }, () => {
  test('Browser: the admin page shows the five demo cameras online with thumbnails', async () => {
    const page = await adminPage();
    await page.getByTestId('admin-cameras').waitFor();

    // Five online cameras, each with a loaded snapshot (a real JPEG from the simulator).
    await waitForStates(page, DEMO_CAMERAS, 'online');
    await page
      .waitForFunction(
        (ids) => {
          const doc = (globalThis as unknown as { document: Doc }).document;
          return ids.every((id) => {
            const img = doc.querySelector(`[data-testid="camera-thumb-${id}"]`);
            return img !== null && img.complete === true && (img.naturalWidth ?? 0) > 0 && img.getAttribute('data-loaded') === 'true';
          });
        },
        DEMO_CAMERAS,
        { timeout: 45_000 },
      )
      .catch(async (e: unknown) => {
        const seen = await page.evaluate((ids) => {
          const doc = (globalThis as unknown as { document: Doc }).document;
          return ids.map((id) => {
            const img = doc.querySelector(`[data-testid="camera-thumb-${id}"]`);
            return `${id}: src=${img?.getAttribute('src')} naturalWidth=${img?.naturalWidth} loaded=${img?.getAttribute('data-loaded')}`;
          });
        }, DEMO_CAMERAS);
        throw new Error(`thumbnails not all loaded:\n${seen.join('\n')}`, { cause: e });
      });
    for (const id of DEMO_CAMERAS) {
      const src = await page.getByTestId(`camera-thumb-${id}`).getAttribute('src');
      expect(src).toMatch(new RegExp(`^/api/cameras/${id}/snapshot\\.jpg\\?t=\\d+$`));
    }
    // Each row names its source but never a password. (The test server moves the simulated cameras
    // from 127.0.0.11… to a loopback subnet of its own: ask the API where h1-wide is.)
    const wideUrl = await page.evaluate(async () => {
      const listed = (await (await fetch('/api/cameras')).json()) as { id: string; source: { url?: string } }[];
      return listed.find((c) => c.id === 'h1-wide')?.source.url ?? '';
    });
    expect(wideUrl).toMatch(/^http:\/\/127\.0\.\d+\.11:\d+\//);
    const wide = page.getByTestId('admin-camera-h1-wide');
    const wideText = (await wide.textContent()) ?? '';
    expect(wideText).toContain(wideUrl);
    expect(wideText).toContain('已设置密码');
    expect(wideText).not.toContain('camera-demo');
    expect(wideText).toContain('1280×720');

    await page.screenshot({ path: SCREENSHOT });

    // A camera behind a closed port: unreachable with a reason, the five stay online.
    await page.getByTestId('camera-add').click();
    const form = page.getByTestId('camera-form');
    await form.waitFor();
    await page.getByTestId('camera-form-id').fill('e2e-closed');
    await page.getByTestId('camera-form-name').fill('端口关闭的摄像机');
    await page.getByTestId('camera-form-role').fill('特写');
    await page.getByTestId('camera-form-kind-rtsp').check();
    await page.getByTestId('camera-form-rtsp-main').fill('rtsp://127.0.0.1:9/none');
    await page.getByTestId('camera-form-submit').click();
    await form.waitFor({ state: 'detached' });
    const added = page.getByTestId('admin-camera-e2e-closed');
    await added.waitFor();
    expect(await page.getByTestId('admin-unassigned').getByTestId('admin-camera-e2e-closed').count()).toBe(1);
    await waitForStates(page, ['e2e-closed'], 'unreachable');
    const reason = page.getByTestId('camera-reason-e2e-closed');
    await reason.waitFor();
    expect(((await reason.textContent()) ?? '').trim()).not.toBe('');
    expect(await page.getByTestId('camera-state-e2e-closed').textContent()).toContain('无法连接');
    await waitForStates(page, DEMO_CAMERAS, 'online', 5_000);

    // Test it explicitly: the answer is the same state.
    await page.getByTestId('camera-test-e2e-closed').click();
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: Doc }).document;
      return doc.querySelector('[data-testid="camera-testing-e2e-closed"]') === null;
    });
    expect(await page.getByTestId('camera-state-e2e-closed').getAttribute('data-state')).toBe('unreachable');

    // Remove it, after confirming.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('camera-remove-e2e-closed').click();
    await added.waitFor({ state: 'detached' });
    expect(await page.getByTestId('cameras-notice').textContent()).toContain('e2e-closed');

    // Discovery of the first simulated camera's address (127.0.0.11 in the demo): one device, already
    // added as h1-wide.
    await page.getByTestId('discover-open').click();
    await page.getByTestId('discover-addresses').fill(new URL(wideUrl).hostname);
    await page.getByTestId('discover-probe').click();
    const results = page.getByTestId('discover-results');
    await results.waitFor();
    expect(await results.locator('tbody tr').count()).toBe(1);
    expect(await results.getByTestId('discovered-known').textContent()).toContain('h1-wide');
    expect(await results.textContent()).toContain(wideUrl);

    await page.close();
  });
});
