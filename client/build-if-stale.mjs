#!/usr/bin/env node
// Run by `npm start` before serving: rebuild dist/client when it is missing or older than any file
// under client/ (or package-lock.json). Prints nothing and exits 0 when the build is fresh.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const clientDir = dirname(fileURLToPath(import.meta.url));
const repo = dirname(clientDir);
const builtIndex = join(repo, 'dist', 'client', 'index.html');

function mtimeOrNull(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Newest mtime of any file below dir (skipping dot-directories such as .vite caches). */
function newestUnder(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestUnder(path));
    else if (entry.isFile()) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const built = mtimeOrNull(builtIndex);
const sources = Math.max(newestUnder(clientDir), mtimeOrNull(join(repo, 'package-lock.json')) ?? 0);
if (built !== null && built >= sources) process.exit(0);

console.log(built === null ? 'client: dist/client missing, building…' : 'client: sources changed, rebuilding…');
const vite = join(repo, 'node_modules', '.bin', process.platform === 'win32' ? 'vite.cmd' : 'vite');
const result = spawnSync(vite, ['build', '--config', join('client', 'vite.config.ts')], {
  cwd: repo,
  stdio: 'inherit',
});
if (result.error) {
  console.error(`client: cannot run vite: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
