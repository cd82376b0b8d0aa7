import { readFileSync, accessSync, constants } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { loadChecklist } from '../checklist/checklist.ts';
import { retentionProblems } from '../retention/retention-policy.ts';

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('../../../config/default.yaml', import.meta.url));

/** A configuration that cannot be used; `problems` has one line per problem, each naming its key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem(s) in the configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export interface LoadedConfig {
  config: Config;
  file: string;
}

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** The value of a secret: an `env:NAME` reference read now, or a literal (demo mode only). */
export function resolveSecret(value: string, env: NodeJS.ProcessEnv = process.env): string {
  const ref = ENV_REF.exec(value);
  if (!ref) return value;
  const resolved = env[ref[1]!];
  if (resolved === undefined) throw new Error(`environment variable ${ref[1]} is not set`);
  return resolved;
}

/**
 * Loads the file named by `--config`, else `HR_CONFIG`, else the demo `config/default.yaml`; applies
 * `PORT`, `HOST` and `DATA_DIR`; validates. Throws ConfigError listing every problem.
 */
export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = resolve(cwd, options.file ?? env.HR_CONFIG ?? DEFAULT_CONFIG_FILE);

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `YAML syntax at line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const overrides = applyEnvironment(raw, env);
  if (overrides.problems.length > 0) throw new ConfigError(file, overrides.problems);

  const parsed = configSchema.safeParse(overrides.value);
  if (!parsed.success) throw new ConfigError(file, parsed.error.issues.map((i) => formatIssue(i, overrides.value)));

  const config = parsed.data;
  config.dataDir = isAbsolute(config.dataDir) ? config.dataDir : resolve(cwd, config.dataDir);
  if (config.server.tls) {
    config.server.tls.cert = resolve(cwd, config.server.tls.cert);
    config.server.tls.key = resolve(cwd, config.server.tls.key);
  }
  const problems = validateConfig(config, env);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return { config, file };
}

function applyEnvironment(raw: unknown, env: NodeJS.ProcessEnv): { value: unknown; problems: string[] } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { value: raw, problems: ['(top level): expected a mapping of keys such as mode, server, cameras, rooms'] };
  }
  const value = structuredClone(raw) as Record<string, unknown>;
  const problems: string[] = [];
  const server = (typeof value.server === 'object' && value.server !== null ? value.server : {}) as Record<string, unknown>;
  if (env.PORT !== undefined && env.PORT !== '') {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      problems.push(`PORT (environment, overrides server.port): expected a port number 0-65535, got "${env.PORT}"`);
    } else server.port = port;
  }
  if (env.HOST) server.host = env.HOST;
  if (env.HOST !== undefined || env.PORT !== undefined || value.server !== undefined) value.server = server;
  if (env.DATA_DIR) value.dataDir = env.DATA_DIR;
  return { value, problems };
}

/** `cameras[2].onvif.password (camera h1-party): expected …` */
function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = formatPath(issue.path);
  const label = entityLabel(issue.path, raw);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((key) => `${formatPath([...issue.path, key])}${label}: unknown key; check its spelling and place`)
      .join('\n');
  }
  let message = issue.message;
  if (issue.code === 'invalid_type') {
    const got = valueAt(raw, issue.path);
    message = got === undefined ? `required, expected ${issue.expected}` : `expected ${issue.expected}, got ${describe(got)}`;
  } else if (issue.code === 'invalid_value') {
    message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${path || '(top level)'}${label}: ${message}`;
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

/** Names the camera or room a path is inside, so an operator finds it without counting. */
function entityLabel(path: PropertyKey[], raw: unknown): string {
  const [list, index] = path;
  if ((list === 'cameras' || list === 'rooms') && typeof index === 'number') {
    const entry = valueAt(raw, [list, index]) as { id?: unknown } | undefined;
    if (typeof entry?.id === 'string') return ` (${list === 'cameras' ? 'camera' : 'room'} ${entry.id})`;
  }
  return '';
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let node: unknown = raw;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/;
const WILDCARD = /^(0\.0\.0\.0|::)$/;

/** Checks that need more than one field. Returns one line per problem. */
export function validateConfig(config: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const cameraIds = new Map<string, number>();
  config.cameras.forEach((camera, i) => {
    const at = `cameras[${i}]`;
    const first = cameraIds.get(camera.id);
    if (first !== undefined) problems.push(`${at}.id: duplicate camera id "${camera.id}" (also cameras[${first}])`);
    else cameraIds.set(camera.id, i);
    if (!camera.onvif === !camera.rtsp) {
      problems.push(`${at} (camera ${camera.id}): give exactly one of onvif (device service URL) or rtsp (direct URL)`);
    }
    if (camera.onvif) checkSecret(`${at}.onvif.password`, camera.onvif.password, config, env, problems);
    if (camera.rtsp?.password !== undefined) checkSecret(`${at}.rtsp.password`, camera.rtsp.password, config, env, problems);
    if (camera.rtsp && /^rtsp:\/\/[^/]*:[^/]*@/.test(`${camera.rtsp.mainUrl}${camera.rtsp.subUrl ?? ''}`)) {
      problems.push(`${at}.rtsp (camera ${camera.id}): put credentials in username/password, not inside the URL`);
    }
  });

  const roomIds = new Map<string, number>();
  const cameraRoom = new Map<string, string>();
  config.rooms.forEach((room, i) => {
    const first = roomIds.get(room.id);
    if (first !== undefined) problems.push(`rooms[${i}].id: duplicate room id "${room.id}" (also rooms[${first}])`);
    else roomIds.set(room.id, i);
    room.cameras.forEach((placement, j) => {
      const at = `rooms[${i}].cameras[${j}].camera (room ${room.id})`;
      if (!cameraIds.has(placement.camera)) {
        problems.push(`${at}: no camera with id "${placement.camera}" is defined under cameras`);
      } else if (cameraRoom.has(placement.camera)) {
        problems.push(`${at}: camera "${placement.camera}" is already placed in room ${cameraRoom.get(placement.camera)}`);
      } else cameraRoom.set(placement.camera, room.id);
    });
  });

  if (config.metrics.token !== undefined) checkSecret('metrics.token', config.metrics.token, config, env, problems);
  const { warningGb, refuseGb, floorGb } = config.recording.disk;
  if (!(floorGb <= refuseGb && refuseGb <= warningGb)) {
    problems.push(`recording.disk: expected floorGb <= refuseGb <= warningGb, got ${floorGb}, ${refuseGb}, ${warningGb}`);
  }
  if (config.simulator) {
    checkSecret('simulator.password', config.simulator.password, config, env, problems);
    const { cameras, onvifBasePort, rtspBasePort, firstAddress } = config.simulator;
    if (Number(firstAddress.split('.')[3]) + cameras - 1 > 254) {
      problems.push(`simulator.firstAddress: ${cameras} cameras from ${firstAddress} run past 127.x.x.254; start lower`);
    }
    if (onvifBasePort + cameras > 65536 || rtspBasePort + cameras > 65536) {
      problems.push('simulator: the port ranges run past 65535; lower onvifBasePort or rtspBasePort');
    } else if (onvifBasePort < rtspBasePort + cameras && rtspBasePort < onvifBasePort + cameras) {
      problems.push(`simulator.rtspBasePort: the RTSP ports ${rtspBasePort}-${rtspBasePort + cameras - 1} overlap the ONVIF ports ${onvifBasePort}-${onvifBasePort + cameras - 1}`);
    }
  }
  if (config.mode === 'demo' && !LOOPBACK.test(config.server.host)) {
    problems.push(
      `server.host: demo mode binds loopback only (127.0.0.1), got "${config.server.host}"; set mode: production with real users to serve a network`,
    );
  }
  config.live.iceServers.forEach((server, i) => {
    if (server.credential !== undefined) checkSecret(`live.iceServers[${i}].credential`, server.credential, config, env, problems);
  });
  if (config.mode === 'demo') {
    config.live.candidateAddresses.forEach((address, i) => {
      if (!LOOPBACK.test(address)) problems.push(`live.candidateAddresses[${i}]: demo mode advertises loopback only (127.0.0.1), got "${address}"`);
    });
  }
  const { rtmpHost, pushHost } = config.mediaServer;
  if (config.mode === 'demo' && !LOOPBACK.test(rtmpHost)) {
    problems.push(`mediaServer.rtmpHost: demo mode binds loopback only (127.0.0.1), got "${rtmpHost}"`);
  }
  if (pushHost === undefined && WILDCARD.test(rtmpHost)) {
    problems.push(`mediaServer.pushHost: rtmpHost "${rtmpHost}" listens on every address; give the address devices push to, e.g. 192.168.1.10`);
  }
  problems.push(...retentionProblems(config.retention, loadChecklist().procedures.map((p) => p.id)));
  if (config.server.tls) {
    for (const key of ['cert', 'key'] as const) {
      try {
        accessSync(config.server.tls[key], constants.R_OK);
      } catch {
        problems.push(`server.tls.${key}: cannot read ${config.server.tls[key]}`);
      }
    }
  }
  return problems;
}

function checkSecret(path: string, value: string, config: Config, env: NodeJS.ProcessEnv, problems: string[]): void {
  const ref = ENV_REF.exec(value);
  if (!ref) {
    if (config.mode !== 'demo') {
      problems.push(`${path}: write secrets as env:NAME (an environment variable), not literally in the file`);
    }
    return;
  }
  if (env[ref[1]!] === undefined) problems.push(`${path}: environment variable ${ref[1]} is not set`);
}
