import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/loader.ts';
import { createLogger } from '../shared/logger.ts';
import { startServer } from '../main.ts';

const USAGE = `Usage: hearing-recorder <command> [options]

Commands:
  serve [--config FILE]   run the server (config: --config, else HR_CONFIG, else the demo config/default.yaml)

Environment: PORT, HOST, DATA_DIR override the config file; LOG_LEVEL sets the log level.`;

/** Runs one subcommand and resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 1;
  }
}

async function serve(argv: string[]): Promise<number> {
  let file: string | undefined;
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true });
    file = values.config;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  let config;
  try {
    config = loadConfig({ file }).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`Configuration error in ${err.file}:`);
    for (const problem of err.problems) console.error(`  ${problem}`);
    return 2;
  }
  const log = createLogger();
  const server = await startServer(log, config);
  if (config.mode === 'demo') {
    console.error(
      `\nhearing-recorder demo at ${server.url}\n  demo users: admin, security, auditor, clerk, supervisor, legal; each password is the user name followed by "-demo"\n`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  // No process.exit(): the process ends when nothing is left open, which tests rely on to prove a
  // clean shutdown. Should a library still hold a timer, say so and leave anyway.
  setTimeout(() => {
    log.warn({ mod: 'server', resources: process.getActiveResourcesInfo() }, 'still open 5 s after shutdown; exiting');
    process.exit(0);
  }, 5000).unref();
  return 0;
}
