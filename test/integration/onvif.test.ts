import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OnvifClient, OnvifError } from '../../server/src/cameras/onvif-client.ts';
import { probeUnicast } from '../../server/src/cameras/discovery.ts';
import { silentLogger } from '../../server/src/shared/logger.ts';
import { CameraFaults, NO_FAULTS } from '../../server/src/simulator/faults.ts';
import { DiscoveryResponder } from '../../server/src/simulator/onvif/discovery-responder.ts';
import { OnvifDevice } from '../../server/src/simulator/onvif/onvif-device.ts';

const credentials = { username: 'admin', password: 'Cam-Pass.1' };
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

interface TestCamera {
  faults: CameraFaults;
  device: OnvifDevice;
  picture: { current: Buffer | null };
}

async function startCamera(host: string, serial: string): Promise<TestCamera> {
  const faults = new CameraFaults();
  const picture = { current: JPEG as Buffer | null };
  const device = new OnvifDevice({
    host,
    port: 0,
    credentials,
    deviceInfo: { manufacturer: 'HIKVISION', model: 'DS-2CD2T47G2-L', firmwareVersion: 'V5.50', serialNumber: serial, hardwareId: '88' },
    streamUris: { main: `rtsp://${host}:8554/main?a=1&b=2`, sub: `rtsp://${host}:8554/sub` },
    audio: 'aac',
    snapshot: () => picture.current,
    faults,
    log: silentLogger(),
  });
  await device.start();
  return { faults, device, picture };
}

const connect = (camera: TestCamera, overrides: Partial<{ password: string; timeoutMs: number }> = {}) =>
  OnvifClient.connect({ url: camera.device.serviceUrl, ...credentials, timeoutMs: 2000, ...overrides });

async function expectOnvifError(promise: Promise<unknown>, kind: OnvifError['kind']): Promise<OnvifError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OnvifError);
  expect((error as OnvifError).kind).toBe(kind);
  return error as OnvifError;
}

let a: TestCamera;
let b: TestCamera;

beforeAll(async () => {
  a = await startCamera('127.0.0.11', '0012345678');
  b = await startCamera('127.0.0.12', 'DS-B-2');
});
afterAll(async () => {
  await Promise.all([a.device.close(), b.device.close()]);
});
beforeEach(() => {
  a.faults.clear();
  b.faults.clear();
  a.picture.current = JPEG;
});

describe('OnvifClient against the simulated ONVIF device', () => {
  it('reads device information without the library mangling digit-only strings', async () => {
    const client = await connect(a);
    expect(await client.deviceInformation()).toEqual({
      manufacturer: 'HIKVISION',
      model: 'DS-2CD2T47G2-L',
      firmwareVersion: 'V5.50',
      serialNumber: '0012345678',
      hardwareId: '88',
    });
  });

  it('reads the main and sub profiles with their encoders', async () => {
    const client = await connect(a);
    expect(await client.profiles()).toEqual([
      {
        token: 'main',
        name: 'mainStream',
        video: { encoding: 'H264', width: 1280, height: 720, framerate: 25, bitrateKbps: 2048 },
        audio: { encoding: 'AAC', sampleRateKhz: 16, bitrateKbps: 32 },
        ptz: false,
      },
      {
        token: 'sub',
        name: 'subStream',
        video: { encoding: 'H264', width: 640, height: 360, framerate: 25, bitrateKbps: 512 },
        audio: { encoding: 'AAC', sampleRateKhz: 16, bitrateKbps: 32 },
        ptz: false,
      },
    ]);
  });

  it('reads both stream URIs (escaped query intact) and reports no PTZ presets', async () => {
    const client = await connect(a);
    expect(await client.streamUri('main')).toBe('rtsp://127.0.0.11:8554/main?a=1&b=2');
    expect(await client.streamUri('sub')).toBe('rtsp://127.0.0.11:8554/sub');
    expect(await client.ptzPresets('main')).toEqual([]);
    await expectOnvifError(client.streamUri('nope'), 'protocol');
  });

  it('fetches the snapshot through its URI with HTTP digest auth', async () => {
    const client = await connect(a);
    expect(await client.snapshotUri('main')).toBe(`http://127.0.0.11:${a.device.port}/onvif/snapshot.jpg`);
    expect(await client.snapshot('main')).toEqual(JPEG);
    const anonymous = await fetch(a.device.snapshotUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Digest realm="[^"]+", qop="auth", nonce="/);
  });

  it('says so when the camera has no picture yet (503)', async () => {
    a.picture.current = null;
    const client = await connect(a);
    const error = await expectOnvifError(client.snapshot('main'), 'protocol');
    expect(error.message).toMatch(/no picture yet/);
  });

  it('measures the camera clock offset, skew included, and still authenticates', async () => {
    const client = await connect(a);
    const clock = await client.systemDateAndTime();
    expect(Math.abs(clock.offsetMs)).toBeLessThan(1000);
    expect(clock.roundTripMs).toBeGreaterThanOrEqual(0);

    a.faults.set({ clockSkewS: 30 });
    const skewed = await connect(a);
    const offset = await skewed.systemDateAndTime();
    expect(Math.abs(offset.offsetMs - 30_000)).toBeLessThan(1000);
    expect(Math.abs(offset.cameraTime.getTime() - (Date.now() + 30_000))).toBeLessThan(1500);

    // Beyond the 5-minute window: tokens dated by the host clock would be stale; ours follow the camera.
    a.faults.set({ clockSkewS: 600 });
    const far = await connect(a);
    expect((await far.deviceInformation()).model).toBe('DS-2CD2T47G2-L');
  });

  it('maps a wrong password, and the wrongPassword fault, to kind unauthorized', async () => {
    const error = await expectOnvifError(connect(a, { password: 'wrong' }), 'unauthorized');
    expect(error.message).toMatch(/user name or password/);
    expect(error.message).not.toContain('wrong');

    const client = await connect(a);
    a.faults.set({ wrongPassword: true });
    await expectOnvifError(client.deviceInformation(), 'unauthorized');
    await expectOnvifError(client.snapshot('main'), 'unauthorized');
  });

  it('gives up on an unresponsive camera within the timeout while other cameras answer', async () => {
    const before = await connect(a, { timeoutMs: 400 });
    a.faults.set({ unresponsive: true });
    const started = Date.now();
    const [hung, hungCall, other] = await Promise.allSettled([
      connect(a, { timeoutMs: 400 }),
      before.deviceInformation(),
      connect(b).then((c) => c.deviceInformation()),
    ]);
    const elapsed = Date.now() - started;
    expect(hung.status === 'rejected' && hung.reason instanceof OnvifError && hung.reason.kind).toBe('timeout');
    expect(hungCall.status === 'rejected' && hungCall.reason instanceof OnvifError && hungCall.reason.kind).toBe('timeout');
    expect(other.status === 'fulfilled' && other.value.serialNumber).toBe('DS-B-2');
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1500);
  });

  it('maps a closed port to kind unreachable', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    await expectOnvifError(
      OnvifClient.connect({ url: `http://127.0.0.1:${port}/onvif/device_service`, ...credentials, timeoutMs: 1000 }),
      'unreachable',
    );
  });
});

describe('the onvif library itself against the simulated device', () => {
  interface PromiseCam {
    connect(): Promise<unknown>;
    getProfiles(): Promise<{ $: { token: string } }[]>;
    getStreamUri(options: { protocol: string; profileToken: string }): Promise<{ uri: string }>;
  }
  const require = createRequire(import.meta.url);
  const { Cam } = require('onvif/promises/index.js') as {
    Cam: new (options: { hostname: string; port: number; username: string; password: string; timeout: number }) => PromiseCam;
  };

  it('connects with its promise API (GetSystemDateAndTime, GetServices, GetProfiles, GetVideoSources) and reads profiles', async () => {
    const cam = new Cam({ hostname: '127.0.0.12', port: b.device.port, ...credentials, timeout: 2000 });
    const actions: string[] = [];
    const record = (r: { action: string; auth: string }) => actions.push(`${r.action}:${r.auth}`);
    b.device.on('request', record);
    try {
      await cam.connect();
      const profiles = await cam.getProfiles();
      expect(profiles.map((p) => p.$.token)).toEqual(['main', 'sub']);
      expect((await cam.getStreamUri({ protocol: 'RTSP', profileToken: 'sub' })).uri).toBe('rtsp://127.0.0.12:8554/sub');
    } finally {
      b.device.off('request', record);
    }
    expect(actions.slice(0, 2)).toEqual(['GetSystemDateAndTime:none', 'GetServices:ok']);
    expect(actions).toContain('GetVideoSources:ok');
  });

  it('fails to connect with a wrong password on a SOAP NotAuthorized fault', async () => {
    const cam = new Cam({ hostname: '127.0.0.12', port: b.device.port, username: 'admin', password: 'bad', timeout: 2000 });
    await expect(cam.connect()).rejects.toThrow(/Sender not Authorized/);
  });
});

describe('fault control API', () => {
  const post = (url: string, body?: unknown) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });

  it('shows, sets, drops and clears faults', async () => {
    const url = a.device.faultsUrl;
    expect(await (await fetch(url)).json()).toEqual(NO_FAULTS);

    const set = await post(url, { clockSkewS: -12.5, stallMedia: true });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ ...NO_FAULTS, clockSkewS: -12.5, stallMedia: true });
    expect(a.faults.current.clockSkewS).toBe(-12.5);

    const dropped = once(a.faults, 'drop');
    expect((await post(`${url}/drop`)).status).toBe(200);
    await dropped;

    expect(await (await post(`${url}/clear`)).json()).toEqual(NO_FAULTS);
    expect(a.faults.current).toEqual(NO_FAULTS);
  });

  it('answers even while the camera plays dead, so the fault can be lifted', async () => {
    expect((await post(a.device.faultsUrl, { unresponsive: true })).status).toBe(200);
    expect((await post(`${a.device.faultsUrl}/clear`)).status).toBe(200);
    await expect(connect(a).then((c) => c.deviceInformation())).resolves.toMatchObject({ serialNumber: '0012345678' });
  });

  it.each([
    ['an unknown key', { unresponsive: true, bogus: 1 }],
    ['a wrong type', { wrongPassword: 'yes' }],
    ['a non-finite skew', '{"clockSkewS": 1e400}'],
    ['not JSON', '{unresponsive'],
    ['an array', [true]],
  ])('rejects %s with 400 and changes nothing', async (_what, body) => {
    const response = await post(a.device.faultsUrl, body);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toMatch(/^invalid_/);
    expect(a.faults.current).toEqual(NO_FAULTS);
  });
});

describe('unicast WS-Discovery', () => {
  it('finds the two answering cameras and not the silent addresses', async () => {
    const responders = [
      new DiscoveryResponder({ host: '127.0.0.11', port: 0, xaddrs: [a.device.serviceUrl], name: 'h1-wide 全景', hardware: 'DS-2CD2T47G2-L', faults: a.faults, log: silentLogger() }),
      new DiscoveryResponder({ host: '127.0.0.12', port: 0, xaddrs: [b.device.serviceUrl], name: 'h1-party', hardware: 'DS-2CD2T47G2-L', faults: b.faults, log: silentLogger() }),
    ];
    const muteFaults = new CameraFaults();
    muteFaults.set({ unresponsive: true });
    const mute = new DiscoveryResponder({ host: '127.0.0.13', port: 0, xaddrs: ['http://127.0.0.13/onvif/device_service'], name: 'mute', hardware: 'x', faults: muteFaults, log: silentLogger() });
    await Promise.all([...responders, mute].map((r) => r.start()));
    try {
      const probed = await probeUnicast(
        [`127.0.0.11:${responders[0]!.port}`, `127.0.0.12:${responders[1]!.port}`, `127.0.0.13:${mute.port}`, '127.0.0.14:9'],
        { timeoutMs: 300 },
      );
      const sorted = [...probed].sort((x, y) => x.address.localeCompare(y.address));
      expect(sorted).toHaveLength(2);
      expect(sorted[0]).toMatchObject({
        address: `127.0.0.11:${responders[0]!.port}`,
        xaddrs: [a.device.serviceUrl],
        endpoint: responders[0]!.endpoint,
        name: 'h1-wide 全景',
        hardware: 'DS-2CD2T47G2-L',
      });
      expect(sorted[0]!.scopes).toContain('onvif://www.onvif.org/type/video_encoder');
      expect(sorted[1]).toMatchObject({ address: `127.0.0.12:${responders[1]!.port}`, xaddrs: [b.device.serviceUrl], name: 'h1-party' });
      expect(responders[0]!.endpoint).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(responders[0]!.endpoint).not.toBe(responders[1]!.endpoint);

      // And the discovered XAddr is directly usable.
      const client = await OnvifClient.connect({ url: sorted[1]!.xaddrs[0]!, ...credentials, timeoutMs: 2000 });
      expect((await client.deviceInformation()).serialNumber).toBe('DS-B-2');
    } finally {
      await Promise.all([...responders, mute].map((r) => r.close()));
    }
  });
});
