import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OnvifClient, OnvifError } from '../../../server/src/cameras/onvif-client.ts';

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = null;
});

/** A camera that answers every request the same way. */
async function camera(listener: RequestListener): Promise<string> {
  server = createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/onvif/device_service`;
}

const connect = (url: string) => OnvifClient.connect({ url, username: 'admin', password: 'pw', timeoutMs: 1000 });

async function failure(promise: Promise<unknown>): Promise<OnvifError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(OnvifError);
  return error as OnvifError;
}

describe('OnvifClient error mapping', () => {
  it('calls a Hikvision-style HTML 401 page unauthorized', async () => {
    const url = await camera((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/html' }).end(
        '<!DOCTYPE html><html><head><title>Document Error: Unauthorized</title></head><body><h2>Access Error: 401 -- Unauthorized</h2></body></html>',
      );
    });
    const error = await failure(connect(url));
    expect(error.kind).toBe('unauthorized');
    expect(error.message).toContain('127.0.0.1');
  });

  it('calls an answer that is not SOAP a protocol error', async () => {
    const url = await camera((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>router login</body></html>');
    });
    expect((await failure(connect(url))).kind).toBe('protocol');
  });

  it('calls a camera that accepts and never answers a timeout, within the bound', async () => {
    const url = await camera((req) => req.resume());
    const started = Date.now();
    const error = await failure(OnvifClient.connect({ url, username: 'admin', password: 'pw', timeoutMs: 200 }));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['not a URL', 'camera-1'],
    ['an RTSP URL', 'rtsp://127.0.0.1/main'],
  ])('refuses %s as a TypeError before any traffic', async (_what, url) => {
    await expect(OnvifClient.connect({ url, username: 'a', password: 'b', timeoutMs: 100 })).rejects.toThrow(TypeError);
  });

  it.each([
    ['a user name the library would paste into XML unescaped', { username: 'a&b', password: 'pw' }],
    ['a password the library would hash as ASCII', { username: 'admin', password: '密码' }],
  ])('refuses %s instead of failing later as "wrong password"', async (_what, credentials) => {
    await expect(OnvifClient.connect({ url: 'http://127.0.0.1:1/onvif/device_service', ...credentials, timeoutMs: 100 })).rejects.toThrow(TypeError);
  });
});
