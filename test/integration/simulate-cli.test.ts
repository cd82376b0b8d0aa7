import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { OnvifClient } from '../../server/src/cameras/onvif-client.ts';
import { describeRtsp } from '../../server/src/cameras/rtsp-describe.ts';
import { CLI, REPO_ROOT } from '../helpers/server.ts';

/** Pids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('npx hearing-recorder simulate', () => {
  it('prints one JSON line per camera whose ONVIF and RTSP URLs work, and stops leaving no ffmpeg', async () => {
    const subnet = 200 + (process.pid % 40);
    const child = spawn(process.execPath, [CLI, 'simulate', '--cameras', '2', '--first-address', `127.0.${subnet}.11`, '--password', 'Sim-pass-1'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(line);
        if (lines.length === 2) resolve();
      });
      void exited.then((code) => reject(new Error(`simulate exited with ${code}`)));
    });
    const cameras = lines.map((l) => JSON.parse(l));
    expect(cameras[1]).toEqual({
      id: 'sim-02',
      onvif: `http://127.0.${subnet}.12:18082/onvif/device_service`,
      rtsp: { main: `rtsp://127.0.${subnet}.12:18555/main`, sub: `rtsp://127.0.${subnet}.12:18555/sub` },
      discovery: `127.0.${subnet}.12:3702`,
      control: `http://127.0.${subnet}.12:18082/simulator/faults`,
      username: 'admin',
      password: 'Sim-pass-1',
    });
    const onvif = await OnvifClient.connect({ url: cameras[0].onvif, username: 'admin', password: 'Sim-pass-1', timeoutMs: 3000 });
    expect((await onvif.profiles()).map((p) => p.token)).toEqual(['main', 'sub']);
    const sub = await describeRtsp(cameras[1].rtsp.sub, { username: 'admin', password: 'Sim-pass-1' }, 3000);
    expect(sub.media.map((m) => m.codec)).toEqual(['H264', 'MPEG4-GENERIC']);

    const encoders = childrenOf(child.pid!);
    expect(encoders.length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of encoders) expect(() => readFileSync(`/proc/${pid}/stat`)).toThrow();
  });
});
