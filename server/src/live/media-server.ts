import { EventEmitter } from 'node:events';
import type { Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, isIP, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../shared/logger.ts';

/**
 * THE adapter around node-media-server 4 (no types, config in a module singleton, debug logging
 * forced on, `process.exit(1)` when a port is taken, a JSON store that installs signal hooks). Nothing
 * else in the server imports it. What this file does about each of those:
 * - its logger's `log` is replaced before it is constructed: every line goes to pino at debug;
 * - `run()` is never called: the listeners are bound here, HTTP-FLV on 127.0.0.1 only and RTMP on
 *   `rtmpHost` (plus 127.0.0.1 for the server's own readers), with their errors reported instead of exiting, and the store, relay, record, history and notify parts
 *   never start (nothing is written to disk, no signal hook is installed);
 * - publishing is checked in `prePublish` by the `authorize` callback: a refused publisher's socket is
 *   destroyed at once (node-media-server's own events cannot refuse), and `publishRefused` is emitted;
 * - `stop()` closes both listeners and every connection, so no handle stays open.
 * Its own play/publish signature (`auth.play`) is not used: a bad signature gets an empty 200 there.
 * FLV reaches users only through the main HTTP port, behind its login and signed URLs.
 */

const require = createRequire(import.meta.url);

/** A stream path part node-media-server accepts (its SAFE_NAME_PATTERN). */
export const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

export interface PublishAttempt {
  /** First path part: `live` or `device` here. */
  app: string;
  name: string;
  /** Query of the publish URL, e.g. `{ key: '…' }`. Never logged. */
  query: Record<string, string | string[] | undefined>;
  /** Remote address and port of the publisher. */
  ip: string;
  protocol: 'rtmp' | 'flv';
}

export type PublishDecision = { allow: true } | { allow: false; reason: string };

export interface PublishInfo {
  app: string;
  name: string;
  ip: string;
  /** node-media-server's session id. */
  sessionId: string;
}

export interface MediaServerEvents {
  /** A publisher was refused and its connection destroyed. */
  publishRefused: [PublishAttempt & { reason: string }];
  /** An allowed publisher started. */
  published: [PublishInfo];
  /** An allowed publisher's connection closed (at once, not after node-media-server's grace window). */
  unpublished: [PublishInfo];
  /** A listener failed after start (it is not restarted). */
  error: [Error];
}

export interface MediaServerOptions {
  /** RTMP port; 0 picks a free one. */
  rtmpPort: number;
  /** Address RTMP binds (devices push from the LAN in production); 127.0.0.1 when absent. */
  rtmpHost?: string;
  /** Host written into device push URLs; `rtmpHost` when absent. */
  pushHost?: string;
  /** HTTP-FLV port on 127.0.0.1 (internal: the main port proxies it); 0 picks a free one. */
  httpPort: number;
  /** When a configured port is taken, bind a free one instead of failing (demo mode, tests). */
  fallbackToFreePort?: boolean;
  log: Logger;
  /** Decides each publish attempt. A throw counts as a refusal. */
  authorize: (attempt: PublishAttempt) => PublishDecision;
}

export class MediaServerStateError extends Error {
  override readonly name = 'MediaServerStateError';
}

// The untyped parts of node-media-server this file touches, typed here and nowhere else.
interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | string[] | undefined> | null;
  isPublisher: boolean;
  socket?: Socket;
  req?: { socket: Socket };
}
interface NmsBroadcast {
  publisher: NmsSession | null;
  publishGraceMs: number;
  getPublishStatus(): 'publishing' | 'reconnecting' | 'idle';
  _finishPublish(): void;
}
interface NmsContext {
  config: Record<string, unknown>;
  sessions: Map<string, NmsSession>;
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: EventEmitter;
}
interface NmsLogger {
  level: string;
  log: (message: string, level?: string) => void;
}
interface NmsInstance {
  rtmpServer: { tcpServer?: NetServer; stop(): void };
  httpServer: { httpServer?: HttpServer; wsServer?: { close(): void; clients: Set<{ terminate(): void }> }; stop(): void };
  stop(): Promise<void>;
}
type NmsConstructor = new (config: Record<string, unknown>, configPath?: string) => NmsInstance;

const DEFAULT_GRACE_MS = 30_000;
/** Bind-all addresses: they cover 127.0.0.1, but a device cannot dial them. */
const WILDCARD = new Set(['0.0.0.0', '::']);
/** Only one node-media-server per process: its config and sessions are module singletons. */
let instanceRunning = false;

export class MediaServer extends EventEmitter<MediaServerEvents> {
  private readonly o: MediaServerOptions;
  private readonly log: Logger;
  private nms: NmsInstance | null = null;
  private context: NmsContext | null = null;
  private rtmpBound = 0;
  /** The extra loopback RTMP listener when `rtmpHost` is a LAN address (internal URLs stay 127.0.0.1). */
  private rtmpLoopback: NetServer | null = null;
  private httpBound = 0;
  private readonly sockets = new Set<Socket>();
  private readonly refused = new WeakSet<NmsSession>();
  private readonly allowed = new Map<string, PublishInfo>();
  private started = false;
  private stopPromise: Promise<void> | null = null;
  private readonly onPrePublish = (session: NmsSession) => this.checkPublish(session);
  private readonly onPostPublish = (session: NmsSession) => this.afterPublish(session);

  constructor(options: MediaServerOptions) {
    super();
    for (const key of ['rtmpPort', 'httpPort'] as const) {
      const port = options[key];
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`MediaServer: ${key} must be a port number`);
    }
    if (typeof options.authorize !== 'function') throw new TypeError('MediaServer: authorize is required');
    if (options.rtmpHost !== undefined && isIP(options.rtmpHost) === 0) throw new TypeError('MediaServer: rtmpHost must be an IP address');
    if (options.pushHost === undefined && WILDCARD.has(options.rtmpHost ?? '')) throw new TypeError('MediaServer: pushHost is required when rtmpHost is a wildcard');
    this.o = options;
    this.log = options.log.child({ mod: 'media-server' });
  }

  /** The bound RTMP port (0 before start). */
  get rtmpPort(): number {
    return this.rtmpBound;
  }

  /** The bound HTTP-FLV port (0 before start). */
  get httpPort(): number {
    return this.httpBound;
  }

  get running(): boolean {
    return this.started && this.stopPromise === null;
  }

  /** `rtmp://127.0.0.1:<port>/<app>/<name>[?query]`: the server's own readers and publishers. */
  rtmpUrl(app: string, name: string, query?: Record<string, string>): string {
    return this.urlOn('127.0.0.1', app, name, query);
  }

  /** The URL a device pushes to: `rtmp://<pushHost or rtmpHost>:<port>/<app>/<name>[?query]`. */
  pushUrl(app: string, name: string, query?: Record<string, string>): string {
    const host = this.o.pushHost ?? this.o.rtmpHost ?? '127.0.0.1';
    return this.urlOn(isIP(host) === 6 ? `[${host}]` : host, app, name, query);
  }

  private urlOn(host: string, app: string, name: string, query?: Record<string, string>): string {
    this.checkName(app, name);
    const q = query ? `?${new URLSearchParams(query).toString()}` : '';
    return `rtmp://${host}:${this.rtmpBound}/${app}/${name}${q}`;
  }

  /** node-media-server's own HTTP-FLV URL of a stream (loopback, unauthenticated: proxy it, never expose it). */
  httpFlvUrl(app: string, name: string): string {
    this.checkName(app, name);
    return `http://127.0.0.1:${this.httpBound}/${app}/${name}.flv`;
  }

  /** Whether a stream has a publisher now. */
  isPublishing(app: string, name: string): boolean {
    return [...this.allowed.values()].some((p) => p.app === app && p.name === name);
  }

  /** Closes the publisher of a stream, if one is connected (e.g. a device just disabled). Returns whether one was. */
  disconnectPublisher(app: string, name: string): boolean {
    let found = false;
    for (const session of this.context?.sessions.values() ?? []) {
      if (session.isPublisher && session.streamApp === app && session.streamName === name) {
        this.socketOf(session)?.destroy();
        found = true;
      }
    }
    return found;
  }

  /**
   * Ends a stream whose publisher left on purpose: node-media-server would otherwise keep its last
   * GOP for its 30 s grace window and hand those old frames to the next viewer as if they were live.
   */
  endStream(app: string, name: string): void {
    const broadcast = this.context?.broadcasts.get(`/${app}/${name}`);
    if (broadcast?.getPublishStatus() === 'reconnecting') broadcast._finishPublish();
  }

  /** Binds RTMP on `rtmpHost` (and 127.0.0.1) and HTTP-FLV on 127.0.0.1. Rejects (leaving nothing open) when a port cannot be bound. */
  async start(): Promise<void> {
    if (this.started) throw new MediaServerStateError('MediaServer: already started');
    if (instanceRunning) throw new MediaServerStateError('MediaServer: node-media-server runs once per process');
    this.started = true;
    instanceRunning = true;
    try {
      // The logger first: the constructor logs, and sets the level to debug.
      const nmsLogger = require('node-media-server/src/core/logger.js') as NmsLogger;
      nmsLogger.log = (message: string, level = 'info') => this.log.debug({ nms: level }, message);
      this.context = require('node-media-server/src/core/context.js') as NmsContext;
      const NodeMediaServer = require('node-media-server') as NmsConstructor;
      // Non-zero placeholders make it create the listeners; they are bound below, not by run().
      this.nms = new NodeMediaServer({
        bind: '127.0.0.1',
        rtmp: { port: 1 },
        http: { port: 1 },
        webadmin: { enable: false },
        store: { path: '/nonexistent/never-opened' },
      });
      const tcp = this.nms.rtmpServer.tcpServer;
      const http = this.nms.httpServer.httpServer;
      if (!tcp || !http) throw new Error('node-media-server created no RTMP or HTTP listener');
      // Its HTTP 'error' handler exits the process: replace it.
      http.removeAllListeners('error');
      tcp.on('connection', (socket: Socket) => this.track(socket));
      http.on('connection', (socket: Socket) => this.track(socket));
      const rtmpHost = this.o.rtmpHost ?? '127.0.0.1';
      this.rtmpBound = await this.listen(tcp, this.o.rtmpPort, 'RTMP', rtmpHost);
      if (rtmpHost !== '127.0.0.1' && !WILDCARD.has(rtmpHost)) {
        // The server's own readers and FLV publishers dial 127.0.0.1: hand those connections to the same RTMP server.
        this.rtmpLoopback = createServer((socket) => tcp.emit('connection', socket));
        await this.listen(this.rtmpLoopback, this.rtmpBound, 'RTMP', '127.0.0.1', false);
      }
      this.httpBound = await this.listen(http, this.o.httpPort, 'HTTP-FLV', '127.0.0.1');
      Object.assign(this.context.config, { rtmp: { port: this.rtmpBound }, http: { port: this.httpBound } });
      for (const server of [tcp, http, this.rtmpLoopback]) server?.on('error', (err: Error) => this.emitSafe('error', err));
      this.context.eventEmitter.on('prePublish', this.onPrePublish);
      this.context.eventEmitter.on('postPublish', this.onPostPublish);
      // HTTP-FLV is always on 127.0.0.1; the message names where devices can reach RTMP.
      this.log.info({ rtmpHost, rtmpPort: this.rtmpBound, httpPort: this.httpBound }, `media server listening on ${rtmpHost}`);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Closes both listeners and every connection. Idempotent. */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.context?.eventEmitter.off('prePublish', this.onPrePublish);
    this.context?.eventEmitter.off('postPublish', this.onPostPublish);
    const nms = this.nms;
    if (nms) {
      const closed = [nms.rtmpServer.tcpServer, nms.httpServer.httpServer, this.rtmpLoopback ?? undefined]
        .filter((s): s is NetServer | HttpServer => s !== undefined && s.listening)
        .map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const ws of nms.httpServer.wsServer?.clients ?? []) ws.terminate();
      nms.httpServer.wsServer?.close();
      for (const socket of this.sockets) socket.destroy();
      try {
        // Stops its rate sampler and RTMP sockets; its store was never opened.
        await nms.stop();
      } catch (err) {
        this.log.warn({ err }, 'node-media-server stop failed');
      }
      await Promise.all(closed);
      for (const session of this.context?.sessions.values() ?? []) this.socketOf(session)?.destroy();
      this.context?.sessions.clear();
      this.context?.broadcasts.clear();
    }
    this.nms = null;
    this.rtmpLoopback = null;
    this.allowed.clear();
    if (this.started) instanceRunning = false;
  }

  private listen(server: NetServer | HttpServer, port: number, what: string, host: string, fallback = this.o.fallbackToFreePort): Promise<number> {
    const attempt = (p: number) =>
      new Promise<number>((resolve, reject) => {
        const onError = (err: Error) => {
          server.off('listening', onListening);
          reject(err);
        };
        const onListening = () => {
          server.off('error', onError);
          resolve((server.address() as AddressInfo).port);
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen(p, host);
      });
    return attempt(port).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' && port !== 0 && fallback) {
        this.log.warn({ port }, `${what} port in use: a free port is used instead`);
        return attempt(0);
      }
      throw new Error(
        err.code === 'EADDRINUSE'
          ? `${what} port ${port} on ${host} is already in use: stop the other program or change mediaServer.${what === 'RTMP' ? 'rtmpPort' : 'httpPort'}`
          : `cannot listen for ${what} on ${host}:${port}: ${err.message}${what === 'RTMP' ? ' (check mediaServer.rtmpHost)' : ''}`,
      );
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private socketOf(session: NmsSession): Socket | undefined {
    return session.socket ?? session.req?.socket;
  }

  private checkName(app: string, name: string): void {
    if (!STREAM_NAME.test(app) || !STREAM_NAME.test(name)) throw new TypeError(`MediaServer: invalid stream path ${app}/${name}`);
  }

  private checkPublish(session: NmsSession): void {
    const attempt: PublishAttempt = {
      app: session.streamApp,
      name: session.streamName,
      query: { ...(session.streamQuery ?? {}) },
      ip: session.ip,
      protocol: session.protocol === 'flv' ? 'flv' : 'rtmp',
    };
    let decision: PublishDecision;
    try {
      decision = this.o.authorize(attempt);
    } catch (err) {
      this.log.error({ err }, 'publish authorization threw: refused');
      decision = { allow: false, reason: 'authorization failed' };
    }
    if (decision.allow) return;
    this.refused.add(session);
    // It becomes the stream's publisher when the path is free: no grace window for it afterwards.
    const broadcast = this.context?.broadcasts.get(session.streamPath);
    if (broadcast && broadcast.publisher === null) broadcast.publishGraceMs = 0;
    this.socketOf(session)?.destroy();
    this.log.warn({ app: attempt.app, name: attempt.name, ip: attempt.ip, reason: decision.reason }, 'publish refused');
    this.emitSafe('publishRefused', { ...attempt, reason: decision.reason });
  }

  private afterPublish(session: NmsSession): void {
    if (this.refused.has(session)) return;
    const broadcast = this.context?.broadcasts.get(session.streamPath);
    // Emitted before node-media-server checks for a publisher already on the path: that one stays.
    if (broadcast?.publisher && broadcast.publisher !== session) return;
    if (broadcast) broadcast.publishGraceMs = DEFAULT_GRACE_MS;
    const info: PublishInfo = { app: session.streamApp, name: session.streamName, ip: session.ip, sessionId: session.id };
    this.allowed.set(session.id, info);
    const socket = this.socketOf(session);
    const done = () => {
      if (!this.allowed.delete(session.id)) return;
      this.emitSafe('unpublished', info);
    };
    if (!socket || socket.destroyed) {
      queueMicrotask(done);
    } else socket.once('close', done);
    this.emitSafe('published', info);
  }

  private emitSafe<K extends keyof MediaServerEvents>(event: K, ...args: MediaServerEvents[K]): void {
    if (event === 'error' && this.listenerCount('error') === 0) {
      this.log.error({ err: args[0] }, 'media server error');
      return;
    }
    for (const listener of this.rawListeners(event as string)) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'listener threw');
      }
    }
  }
}
