// What every benchmark shares: the cleanup registry (run on exit and on SIGINT/SIGTERM), the verdict
// lines, and the run-main-then-clean-up-then-exit frame.

/** Everything a benchmark starts registers its undo here; undone last-first. */
export const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | null = null;

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\n${sig}: cleaning up\n`);
    void cleanup().then(() => process.exit(130));
  });
}

/** Registers a child's kill for cleanup; the returned function unregisters it once the child is gone. */
export function track(kill: () => void): () => void {
  const undo = async () => kill();
  cleanups.push(undo);
  return () => {
    const i = cleanups.indexOf(undo);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Appends one PASS/FAIL line per target and the overall verdict to `lines`, prints them; true when all pass. */
export function verdict(lines: string[], checks: [text: string, ok: boolean][]): boolean {
  for (const [text, ok] of checks) lines.push(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  const all = checks.every(([, ok]) => ok);
  lines.push('', `  ${all ? 'PASS' : 'FAIL'} overall (${checks.filter(([, ok]) => ok).length}/${checks.length})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return all;
}

/** Runs a benchmark's main, cleans up whatever happened, and exits with its code (1 on a crash). */
export async function runBench(name: string, main: () => Promise<number>): Promise<never> {
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    process.stderr.write(`${name} failed: ${(err as Error).stack ?? String(err)}\n`);
  } finally {
    await cleanup();
  }
  process.exit(code);
}
