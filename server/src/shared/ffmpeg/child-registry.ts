import { readFileSync, writeFileSync } from 'node:fs';

/**
 * The ffmpeg children of this server, kept in a pid file so that a server that was killed can kill
 * any survivor at its next start (setpriv's parent-death signal makes survivors rare, not
 * impossible). Each entry carries the child's start time from /proc so a reused pid is never killed.
 */
export class ChildRegistry {
  private readonly children = new Map<number, string>();

  constructor(private readonly file: string) {}

  add(pid: number): void {
    const started = startTimeOf(pid);
    if (started === null) return;
    this.children.set(pid, started);
    this.write();
  }

  remove(pid: number): void {
    if (this.children.delete(pid)) this.write();
  }

  /** Kills the children a previous run recorded that still run; returns their pids. */
  killSurvivors(): number[] {
    let entries: [number, string][] = [];
    try {
      entries = readFileSync(this.file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' ') as [string, string])
        .map(([pid, started]) => [Number(pid), started]);
    } catch {
      return [];
    }
    const killed: number[] = [];
    for (const [pid, started] of entries) {
      if (!Number.isInteger(pid) || pid <= 1 || startTimeOf(pid) !== started) continue;
      try {
        // The child leads its own process group: end the group.
        process.kill(-pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // already gone
      }
    }
    this.write();
    return killed;
  }

  private write(): void {
    writeFileSync(this.file, [...this.children].map(([pid, started]) => `${pid} ${started}\n`).join(''), { mode: 0o600 });
  }
}

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot, or null if gone. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

let registry: ChildRegistry | null = null;

/** Installs the registry every FfmpegProcess reports its children to (once, at server start). */
export function useChildRegistry(next: ChildRegistry | null): void {
  registry = next;
}

export function childRegistry(): ChildRegistry | null {
  return registry;
}
