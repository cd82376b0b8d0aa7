import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { unpackZip } from '../evidence/unpack.ts';
import { verifyDirectory } from '../evidence/verifier/verify.mjs';
import { ffprobeBinary } from '../shared/ffmpeg/ffmpeg-binary.ts';
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
  verify <package.zip | dir> [--key FINGERPRINT]
                          check an evidence package offline: exit 0 intact, 1 tampered or signed by
                          another key than --key (each failure named), 2 unreadable
  verify --session ID [--key FINGERPRINT] [--config FILE]
                          check a sealed session in the server's own data directory (DATA_DIR)

Environment: PORT, HOST, DATA_DIR override the config file; LOG_LEVEL sets the log level.`;

/** Runs one subcommand and resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulate':
      return simulate(rest);
    case 'verify':
      return verify(rest);
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

/**
 * `verify`: the same code as the package's standalone verify.mjs (it is that file), run on an
 * unpacked directory, on a zip unpacked into a temporary directory, or on a sealed session's own
 * directory. No server, database or network.
 */
async function verify(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { key: { type: 'string' }, session: { type: 'string' }, config: { type: 'string', short: 'c' } },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.key !== undefined && !/^[0-9a-f]{64}$/.test(values.key.replace(/[\s:]/g, '').toLowerCase())) {
    console.error('--key expects the 64 hex digits of the key fingerprint printed on the seal certificate (spaces and colons allowed)');
    return 2;
  }
  if ((values.session === undefined) === (positionals.length !== 1)) {
    console.error(`verify needs exactly one of: a package (zip or directory), or --session ID\n\n${USAGE}`);
    return 2;
  }
  let ffprobe: string | undefined;
  try {
    ffprobe = ffprobeBinary().path;
  } catch {
    ffprobe = undefined;
  }
  const run = async (dir: string) => {
    const { code, lines } = await verifyDirectory(dir, { key: values.key ?? null, ...(ffprobe ? { ffprobe } : {}) });
    for (const line of lines) console.log(line);
    return code;
  };
  if (values.session !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(values.session)) {
      console.error(`"${values.session}" is not a session id`);
      return 2;
    }
    let dataDir: string;
    try {
      dataDir = loadConfig({ file: values.config }).config.dataDir;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`Configuration error in ${err.file}:`);
      for (const problem of err.problems) console.error(`  ${problem}`);
      return 2;
    }
    const recordings = join(dataDir, 'recordings');
    const days = existsSync(recordings) ? readdirSync(recordings) : [];
    const found = days.map((day) => join(recordings, day, values.session!)).find((dir) => existsSync(join(dir, 'manifest.json')));
    if (!found) {
      console.error(`UNREADABLE: no sealed session ${values.session} under ${recordings}`);
      return 2;
    }
    return run(found);
  }
  const target = positionals[0]!;
  let isFile = false;
  try {
    isFile = statSync(target).isFile();
  } catch {
    console.error(`UNREADABLE: ${target} does not exist or cannot be read`);
    return 2;
  }
  if (!isFile) return run(target);
  const dir = mkdtempSync(join(tmpdir(), 'hr-verify-'));
  try {
    try {
      await unpackZip(target, dir);
    } catch (err) {
      console.error(`UNREADABLE: ${target} is not a readable zip package (${(err as Error).message})`);
      return 2;
    }
    return await run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
