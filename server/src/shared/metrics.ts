import type { Request, RequestHandler, Response, NextFunction } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ApiError } from './errors.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * Prometheus metrics on a registry of this server's own. `/metrics` answers loopback clients, and
 * others only with the configured bearer token.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'status'>;
  private readonly duration: Histogram<'method'>;

  constructor(private readonly token: string | undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hr_' });
    this.requests = new Counter({
      name: 'hr_http_requests_total',
      help: 'HTTP requests by method and status',
      labelNames: ['method', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'hr_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method'],
      buckets: [0.005, 0.02, 0.1, 0.5, 2],
      registers: [this.registry],
    });
  }

  /** A gauge read when scraped. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  httpMiddleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.duration.startTimer({ method: req.method });
      res.on('finish', () => {
        end();
        this.requests.inc({ method: req.method, status: String(res.statusCode) });
      });
      next();
    };
  }

  endpoint(): RequestHandler {
    return async (req: Request, res: Response) => {
      if (!LOOPBACK.test(req.socket.remoteAddress ?? '') && !this.tokenMatches(req.get('authorization'))) {
        throw new ApiError(403, 'forbidden', {
          en: 'Metrics are served to loopback, or with the configured bearer token.',
          zh: '监控指标仅对本机开放，或需携带配置的令牌。',
        });
      }
      res.setHeader('Content-Type', this.registry.contentType);
      res.send(await this.registry.metrics());
    };
  }

  private tokenMatches(header: string | undefined): boolean {
    if (!this.token || !header?.startsWith('Bearer ')) return false;
    const given = Buffer.from(header.slice(7));
    const expected = Buffer.from(this.token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
