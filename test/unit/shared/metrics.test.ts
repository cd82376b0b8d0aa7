import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../server/src/shared/errors.ts';
import { Metrics } from '../../../server/src/shared/metrics.ts';

/** A request as express hands it over, from a given address; no remote host exists on this machine. */
function requestFrom(remoteAddress: string, authorization?: string): Request {
  return { socket: { remoteAddress }, get: (name: string) => (name === 'authorization' ? authorization : undefined) } as unknown as Request;
}

async function scrape(metrics: Metrics, req: Request): Promise<{ status: 'served' | number; body: string }> {
  let body = '';
  const res = { setHeader: () => undefined, send: (text: string) => (body = text) } as unknown as Response;
  try {
    await metrics.endpoint()(req, res, () => undefined);
    return { status: 'served', body };
  } catch (err) {
    return { status: (err as ApiError).status, body: '' };
  }
}

describe('/metrics access', () => {
  const metrics = new Metrics('scrape-token-123');

  it('serves loopback clients without a token', async () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      const result = await scrape(metrics, requestFrom(address));
      expect(result.status).toBe('served');
      expect(result.body).toContain('hr_http_requests_total');
    }
  });

  it('serves another host only with the bearer token', async () => {
    expect((await scrape(metrics, requestFrom('192.0.2.5'))).status).toBe(403);
    expect((await scrape(metrics, requestFrom('192.0.2.5', 'Bearer wrong-token-12'))).status).toBe(403);
    expect((await scrape(metrics, requestFrom('192.0.2.5', 'Bearer scrape-token-123'))).status).toBe('served');
  });

  it('refuses every other host when no token is configured', async () => {
    expect((await scrape(new Metrics(undefined), requestFrom('192.0.2.5', 'Bearer '))).status).toBe(403);
  });
});
