import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../server/src/config/loader.ts';
import { CLI, REPO_ROOT } from '../../helpers/server.ts';

// mediaServer.rtmpHost / pushHost: body cameras push from the LAN in production, the demo stays on loopback.
const dir = mkdtempSync(join(tmpdir(), 'hr-config-rtmp-'));
let n = 0;
function write(yaml: string): string {
  const file = join(dir, `config-${++n}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

function load(yaml: string) {
  try {
    return { config: loadConfig({ file: write(yaml), env: {}, cwd: dir }).config, problems: [] as string[] };
  } catch (err) {
    if (err instanceof ConfigError) return { config: null, problems: err.problems };
    throw err;
  }
}

describe('mediaServer.rtmpHost and pushHost', () => {
  it('default to RTMP on 127.0.0.1 with no separate push host', () => {
    const { mediaServer } = load('mode: demo\n').config!;
    expect(mediaServer.rtmpHost).toBe('127.0.0.1');
    expect(mediaServer.pushHost).toBeUndefined();
  });

  it('accept a LAN address in production, and a wildcard with the push host devices dial', () => {
    expect(load('mode: production\nmediaServer: { rtmpHost: 192.168.1.10 }\n').config?.mediaServer.rtmpHost).toBe('192.168.1.10');
    const wildcard = load('mode: production\nmediaServer: { rtmpHost: 0.0.0.0, pushHost: recorder.lan }\n');
    expect(wildcard.problems).toEqual([]);
    expect(wildcard.config?.mediaServer).toMatchObject({ rtmpHost: '0.0.0.0', pushHost: 'recorder.lan' });
  });

  it('refuse a value that is not an IP address, naming the key', () => {
    expect(load('mode: production\nmediaServer: { rtmpHost: "lan interface" }\n').problems).toEqual([
      'mediaServer.rtmpHost: expected an IP address such as 127.0.0.1 or 192.168.1.10',
    ]);
    expect(load('mode: production\nmediaServer: { rtmpHost: 192.168.1.10, pushHost: "rtmp://x/" }\n').problems).toEqual([
      'mediaServer.pushHost: expected a host name or IP address a device can reach, e.g. 192.168.1.10',
    ]);
  });

  it('refuse a LAN address in demo mode, and a wildcard without a push host', () => {
    expect(load('mode: demo\nmediaServer: { rtmpHost: 192.168.1.10 }\n').problems).toEqual([
      'mediaServer.rtmpHost: demo mode binds loopback only (127.0.0.1), got "192.168.1.10"',
    ]);
    expect(load('mode: production\nmediaServer: { rtmpHost: 0.0.0.0 }\n').problems).toEqual([
      'mediaServer.pushHost: rtmpHost "0.0.0.0" listens on every address; give the address devices push to, e.g. 192.168.1.10',
    ]);
  });

  it('a bad rtmpHost stops `serve` with exit code 2 naming the key', () => {
    const file = write('mode: demo\nmediaServer: { rtmpHost: 999.1.1.1 }\n');
    const result = spawnSync(process.execPath, [CLI, 'serve', '--config', file], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATA_DIR: join(dir, 'never') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('mediaServer.rtmpHost: expected an IP address such as 127.0.0.1 or 192.168.1.10');
    expect(result.stdout).toBe('');
  });
});
