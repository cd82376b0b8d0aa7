#!/usr/bin/env node
// `npm run dev`: the server on API_PORT (default 8081), restarted when server/src or config/ change,
// and Vite's dev server with hot reload on PORT (default 8080) proxying /api and /socket.io to it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const apiPort = process.env.API_PORT ?? '8081';
const uiPort = process.env.PORT ?? '8080';

const children = [
  spawn(
    process.execPath,
    ['--watch-path=server/src', '--watch-path=config', 'server/bin/hearing-recorder.mjs', 'serve'],
    { cwd: repo, stdio: 'inherit', env: { ...process.env, PORT: apiPort } },
  ),
  spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', '--config', 'client/vite.config.ts', '--host', '127.0.0.1', '--port', uiPort, '--strictPort'],
    { cwd: repo, stdio: 'inherit', env: { ...process.env, HR_API_PORT: apiPort } },
  ),
];

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}
for (const child of children) child.on('exit', (code) => stop(code ?? 1));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
