// Storage below the warning level is an alarm every login sees at once, in Chinese by default, and
// it stays up while the level lasts (the server says so over the socket: `disk:level`).
import { describe, expect, test } from 'vitest';
import { useBrowserSession } from './browser-session.ts';

// A warning level no disk reaches: the level is `warning` from the first check; refuse and floor stay at 0.
const session = useBrowserSession({ server: { demoOverrides: { recording: { disk: { warningGb: 1e6, refuseGb: 0, floorGb: 0, checkIntervalS: 1 } } } } });

describe('disk level alarm', { timeout: 60_000 }, () => {
  test('a clerk and a supervisor both see the low-storage alarm as soon as they log in', async () => {
    for (const [user, home] of [['clerk', '/console'], ['supervisor', '/wall']] as const) {
      const page = await session.newPage();
      await session.login(page, user);
      await page.waitForURL(`${session.origin()}${home}`);
      const alarm = page.getByTestId('disk-alarm');
      await alarm.waitFor({ state: 'visible' });
      expect(await alarm.getAttribute('data-level')).toBe('warning');
      expect(await alarm.textContent()).toMatch(/存储空间偏低：剩余 [\d.]+ GB/);
      await page.close();
    }
  });
});
