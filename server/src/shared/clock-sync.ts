import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Whether the operating system says its clock is synchronised (NTP), and who said so. */
export interface ClockSyncState {
  synchronized: boolean | null;
  source: 'timedatectl' | 'systemd-timesyncd' | 'unknown';
  detail: string | null;
}

/**
 * Asks the OS, as it reports it: systemd's `timedatectl` first, then timesyncd's marker file. On a
 * machine where neither answers (containers) the state is recorded as unknown, never guessed.
 */
export function readClockSync(): Promise<ClockSyncState> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 2000 }, (err, stdout, stderr) => {
      const answer = stdout.trim();
      if (!err && (answer === 'yes' || answer === 'no')) {
        resolve({ synchronized: answer === 'yes', source: 'timedatectl', detail: null });
      } else if (existsSync('/run/systemd/timesync/synchronized')) {
        resolve({ synchronized: true, source: 'systemd-timesyncd', detail: null });
      } else {
        resolve({ synchronized: null, source: 'unknown', detail: (stderr || (err?.message ?? '')).trim().split('\n')[0] || null });
      }
    });
  });
}
