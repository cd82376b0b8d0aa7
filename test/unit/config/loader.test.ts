import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, resolveSecret } from '../../../server/src/config/loader.ts';
import { CLI, REPO_ROOT } from '../../helpers/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'hr-config-'));
let n = 0;
function write(yaml: string): string {
  const file = join(dir, `config-${++n}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** Problems reported for a file, or [] when it loads. */
function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig({ file: write(yaml), env, cwd: dir });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const productionCamera = `
mode: production
cameras:
  - id: cam-1
    name: Camera 1
    onvif: { url: "http://192.0.2.10/onvif/device_service", username: admin, password: env:CAM1_PASSWORD }
rooms:
  - id: room-1
    name: Room 1
    kind: hearing
    cameras: [{ camera: cam-1, role: 全景 }]
`;

describe('configuration loading', () => {
  it('loads the demo file with its two rooms and five cameras', () => {
    const { config, file } = loadConfig({ env: {}, cwd: dir });
    expect(file).toBe(DEFAULT_CONFIG_FILE);
    expect(config.mode).toBe('demo');
    expect(config.rooms.map((r) => [r.id, r.kind, r.cameras.map((c) => c.camera)])).toEqual([
      ['hearing-1', 'hearing', ['h1-wide', 'h1-presiding', 'h1-party']],
      ['interview-1', 'interview', ['i1-wide', 'i1-subject']],
    ]);
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.dataDir).toBe(join(dir, 'data'));
  });

  it('applies PORT, HOST and DATA_DIR over the file', () => {
    const { config } = loadConfig({ env: { PORT: '9123', HOST: '127.0.0.2', DATA_DIR: '/srv/hr' }, cwd: dir });
    expect(config.server).toMatchObject({ host: '127.0.0.2', port: 9123 });
    expect(config.dataDir).toBe('/srv/hr');
  });

  it('a production file with env: secrets loads when the variables are set', () => {
    expect(problemsOf(productionCamera, { CAM1_PASSWORD: 'x' })).toEqual([]);
  });

  it('names an unknown key with its path', () => {
    expect(problemsOf('mode: demo\nserver: { prot: 80 }\n')).toEqual([
      'server.prot: unknown key; check its spelling and place',
    ]);
  });

  it('names a wrong type with what was expected and what was given', () => {
    expect(problemsOf('mode: demo\nserver: { port: "eighty" }\n')).toEqual([
      'server.port: expected number, got string "eighty"',
    ]);
  });

  it('names the camera of a problem inside a camera entry', () => {
    const problems = problemsOf(`mode: demo
cameras:
  - id: cam-1
    name: Camera 1
    onvif: { url: "not a url", username: admin, password: x }
`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^cameras\[0\]\.onvif\.url \(camera cam-1\): expected the ONVIF device service URL/);
  });

  it('refuses a duplicate camera id', () => {
    expect(
      problemsOf(`mode: demo
cameras:
  - { id: cam-1, name: A, rtsp: { mainUrl: "rtsp://192.0.2.1/main" } }
  - { id: cam-1, name: B, rtsp: { mainUrl: "rtsp://192.0.2.2/main" } }
`),
    ).toEqual(['cameras[1].id: duplicate camera id "cam-1" (also cameras[0])']);
  });

  it('refuses a room that references a missing camera', () => {
    expect(
      problemsOf(`mode: demo
rooms:
  - { id: room-1, name: R, kind: hearing, cameras: [{ camera: ghost, role: 全景 }] }
`),
    ).toEqual(['rooms[0].cameras[0].camera (room room-1): no camera with id "ghost" is defined under cameras']);
  });

  it('refuses a literal password outside demo mode, and a reference to an unset variable', () => {
    expect(problemsOf(productionCamera.replace('env:CAM1_PASSWORD', 'hunter2'))).toEqual([
      'cameras[0].onvif.password: write secrets as env:NAME (an environment variable), not literally in the file',
    ]);
    expect(problemsOf(productionCamera, {})).toEqual(['cameras[0].onvif.password: environment variable CAM1_PASSWORD is not set']);
  });

  it('refuses demo mode on a non-loopback address', () => {
    expect(problemsOf('mode: demo\n', { HOST: '0.0.0.0' })[0]).toMatch(/^server\.host: demo mode binds loopback only/);
  });

  it('refuses a bad PORT in the environment naming the variable', () => {
    expect(problemsOf('mode: demo\n', { PORT: 'http' })).toEqual([
      'PORT (environment, overrides server.port): expected a port number 0-65535, got "http"',
    ]);
  });

  it('refuses a camera with both or neither source kind', () => {
    expect(problemsOf('mode: demo\ncameras:\n  - { id: cam-1, name: A }\n')).toEqual([
      'cameras[0] (camera cam-1): give exactly one of onvif (device service URL) or rtsp (direct URL)',
    ]);
  });

  it('reports every problem, not only the first', () => {
    expect(problemsOf('mode: demo\nserver: { port: -1, colour: red }\nrooms: {}\n')).toHaveLength(3);
  });

  it('resolves env: secrets at use', () => {
    expect(resolveSecret('env:A_SECRET', { A_SECRET: 's3cret' })).toBe('s3cret');
    expect(resolveSecret('literal', {})).toBe('literal');
    expect(() => resolveSecret('env:MISSING', {})).toThrow('environment variable MISSING is not set');
  });

  it('`serve` exits with code 2 and one line per problem naming the key', () => {
    const file = write('mode: demo\nserver: { port: "x" }\ncameras:\n  - { id: Bad_Id, name: A, rtsp: { mainUrl: "rtsp://192.0.2.1/" } }\n');
    const result = spawnSync(process.execPath, [CLI, 'serve', '--config', file], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATA_DIR: join(dir, 'never') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`Configuration error in ${file}:`);
    expect(lines.slice(1).map((l) => l.trim())).toEqual([
      'server.port: expected number, got string "x"',
      'cameras[0].id (camera Bad_Id): expected lowercase letters, digits and hyphens, e.g. "hearing-1"',
    ]);
    expect(result.stdout).toBe('');
  });

  it('the demo file holds no secret that production would refuse only because of demo mode', () => {
    // The demo may hold literals; this guards that the demo file really is marked as the demo.
    expect(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')).toMatch(/^mode: demo$/m);
  });
});
