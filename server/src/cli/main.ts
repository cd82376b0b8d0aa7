import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/loader.ts';
import { createLogger } from '../shared/logger.ts';
import { startServer } from '../main.ts';
import { Simulator } from '../simulator/simulator.ts';

const USAGE = `Usage: hearing-recorder <command> [options]

Commands:
  serve [--config FILE]   run the server (config: --config, else HR_CONFIG, else the demo config/default.yaml)
  simulate --cameras N    run N simulated ONVIF/RTSP cameras on loopback; prints one JSON line per camera
      [--loop FILE] [--audio aac|pcma] [--first-address 127.0.0.11] [--onvif-port 18081]
      [--rtsp-port 18554] [--discovery-port 3702] [--username admin] [--password camera-demo]

Environment: PORT, HOST, DATA_DIR override the config file; LOG_LEVEL sets the log level.`;

/** Runs one subcommand and resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulate':
      return simulate(rest);
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
  let server;
  try {
    server = await startServer(log, config);
  } catch (err) {
    log.fatal({ err }, 'start-up failed');
    console.error(`hearing-recorder could not start: ${(err as Error).message}`);
    return 1;
  }
  if (config.mode === 'demo') {
    console.error(
      `\nhearing-recorder demo at ${server.url}\n  demo users: admin, security, auditor, clerk, supervisor, legal; each password is the user name followed by "-demo"\n`,
    );
  }
  await stopSignal();
  await server.close();
  // No process.exit(): the process ends when nothing is left open, which tests rely on to prove a
  // clean shutdown. Should a library still hold a timer, say so and leave anyway.
  setTimeout(() => {
    log.warn({ mod: 'server', resources: process.getActiveResourcesInfo() }, 'still open 5 s after shutdown; exiting');
    process.exit(0);
  }, 5000).unref();
  return 0;
}

async function simulate(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        cameras: { type: 'string', default: '1' },
        loop: { type: 'string' },
        audio: { type: 'string', default: 'aac' },
        'first-address': { type: 'string', default: '127.0.0.11' },
        'onvif-port': { type: 'string', default: '18081' },
        'rtsp-port': { type: 'string', default: '18554' },
        'discovery-port': { type: 'string', default: '3702' },
        username: { type: 'string', default: 'admin' },
        password: { type: 'string', default: 'camera-demo' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  const number = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} expects a whole number from ${min} to ${max}, got "${values[name]}"`);
    return n;
  };
  let options;
  try {
    if (values.audio !== 'aac' && values.audio !== 'pcma') throw new Error(`--audio expects aac or pcma, got "${values.audio}"`);
    if (!/^127\.\d+\.\d+\.\d+$/.test(values['first-address']!)) throw new Error('--first-address expects a loopback address such as 127.0.0.11');
    options = {
      cameras: number('cameras', 1, 64),
      firstAddress: values['first-address']!,
      onvifBasePort: number('onvif-port', 1, 65535),
      rtspBasePort: number('rtsp-port', 1, 65535),
      discoveryPort: number('discovery-port', 1, 65535),
      username: values.username!,
      password: values.password!,
      audio: values.audio,
      loop: values.loop,
    } as const;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 1;
  }
  // stdout carries the JSON lines; logs go to stderr.
  const log = createLogger(undefined, 2).child({ mod: 'simulator' });
  const simulator = await Simulator.start({ ...options, log });
  for (const camera of simulator.info) process.stdout.write(`${JSON.stringify(camera)}\n`);
  await stopSignal();
  await simulator.close();
  return 0;
}

/**
 * Resolves at the first SIGINT or SIGTERM. The handlers stay installed, so a repeated signal during
 * the (bounded) graceful shutdown does not kill the process half-way through it.
 */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.on('SIGINT', () => resolve());
    process.on('SIGTERM', () => resolve());
  });
}
