#!/usr/bin/env node
// Entry point of the `hearing-recorder` command. The server is TypeScript run through tsx's loader,
// so a fresh clone needs no separate build step for it.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
