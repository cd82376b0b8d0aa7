import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { accessSync, constants } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Server, Socket } from 'socket.io';
import type { AuthService, AuthUser } from '../auth/auth-service.ts';
import { canAccessRoom, hasAnyRole } from '../auth/access.ts';
import type { CameraRepository } from '../cameras/camera-repository.ts';
import type { CustodyLog } from '../custody/custody-log.ts';
import type { CameraIngest, RtpFromCamera } from '../ingest/camera-ingest.ts';
import type { ClientToServerEvents, LiveAck, LiveStreamKind, ServerToClientEvents, SocketData } from '../realtime/events.ts';
import type { SessionRepository } from '../sessions/session-repository.ts';
import { childRegistry } from '../shared/ffmpeg/child-registry.ts';
import type { Logger } from '../shared/logger.ts';
import { SubStreamPull, type SubStreamSource } from './sub-stream-pull.ts';
import { RTP_HEADER_BYTES, RTP_MAGIC, TRACK_AUDIO, TRACK_VIDEO, type FromWorker, type ToWorker, type WorkerIceServer } from './webrtc-worker.types.ts';

type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type Failure = { ok: false; error: { code: string; message: string } };

export interface WebRtcServiceOptions {
  iceServers: WorkerIceServer[];
  candidateAddresses: string[];
  logLevel: string;
  /** Test hook: spawn this module instead of webrtc-worker.ts. */
  workerModule?: string;
}

export interface WebRtcServiceDeps {
  auth: AuthService;
  cameras: CameraRepository;
  sessions: SessionRepository;
  custody: CustodyLog;
  /** The camera's running ingest (RecordingService.ingestOf). */
  ingestOf: (cameraId: string) => CameraIngest | undefined;
  /** The camera's sub stream, when it has one (grid tiles); null serves them the main stream. */
  subStreamOf: (cameraId: string) => SubStreamSource | null;
  log: Logger;
}

const WORKER_MODULE = fileURLToPath(new URL('./webrtc-worker.ts', import.meta.url));
const SETPRIV = '/usr/bin/setpriv';
const REQUEST_TIMEOUT_MS = 15_000;
/** The worker's nice value: below the server and its recording ffmpeg children. */
const WORKER_NICENESS = 5;
const BACKOFF_START_MS = 250;
const BACKOFF_CAP_MS = 10_000;
/** A worker that ran this long resets the backoff. */
const STABLE_AFTER_MS = 30_000;
const FEED_CHECK_MS = 2000;
/** Viewers are authorized again this often (a room unassigned or a role removed meanwhile). */
const REAUTHORIZE_MS = 60_000;
const MAX_VIEWERS_PER_SOCKET = 32;

const isLoopback = (address: string) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address) || address === '::1';

/** Lives as long as one worker process. */
interface WorkerRun {
  child: ChildProcess;
  startedAt: number;
  /** Where it takes RTP; null until it said `ready`. */
  port: number | null;
}

interface Viewer {
  id: string;
  socket: LiveSocket;
  username: string;
  cameraId: string;
  roomId: string | null;
  stream: LiveStreamKind;
  /** The feed it watches (`cameraId`, or `cameraId#sub`). */
  feedKey: string;
  custodyId: number | null;
}

/** A camera with viewers: its RTP goes to the worker while it has any. */
interface Feed {
  key: string;
  cameraId: string;
  /** The main stream comes from the recording ingest's relay; a sub stream from its own pull. */
  source: SubStreamSource | null;
  pull: SubStreamPull | null;
  index: number;
  ingest: CameraIngest | null;
  unsubscribe: (() => void) | null;
  sdp: string | null;
  viewers: Set<string>;
}

interface Pending {
  resolve: (message: FromWorker) => void;
  timer: NodeJS.Timeout;
}

class LiveError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const UNAVAILABLE = () => new LiveError('live_unavailable', 'Live view is restarting; it will be back in a moment.');

/**
 * WebRTC live view, main-process side: supervises the werift worker child process (restarts it with
 * backoff; while it is down `live:watch` answers `live_unavailable`), authorizes viewers, forwards a
 * camera's RTP to the worker over loopback UDP only while it has viewers, and writes the custody log.
 * Nothing here runs inside the ingest except one bounded copy-and-send per packet, which never throws.
 */
export class WebRtcService {
  private run: WorkerRun | null = null;
  private readonly udp: UdpSocket;
  private udpReady: Promise<void>;
  private closed = false;
  private attempts = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly feedCheck: NodeJS.Timeout;
  private readonly viewers = new Map<string, Viewer>();
  private readonly feeds = new Map<string, Feed>();
  private nextIndex = 1;
  private lastReauthorize = Date.now();
  private nextRequest = 1;
  private readonly pending = new Map<number, Pending>();
  /** Watches of a socket waiting for their offer (they count against its viewer limit). */
  private readonly watching = new WeakMap<LiveSocket, number>();
  private readonly log: Logger;

  constructor(
    private readonly options: WebRtcServiceOptions,
    private readonly deps: WebRtcServiceDeps,
  ) {
    this.log = deps.log;
    this.udp = createSocket('udp4');
    this.udp.on('error', (err) => this.log.warn({ err }, 'RTP forwarding socket error'));
    this.udpReady = new Promise((resolve) => this.udp.bind(0, '127.0.0.1', () => resolve()));
    this.feedCheck = setInterval(() => this.checkFeeds(), FEED_CHECK_MS);
    this.feedCheck.unref();
  }

  /** The worker's pid while one runs (metrics, tests). */
  get workerPid(): number | undefined {
    return this.run?.child.pid;
  }

  /** Starts the worker. */
  async start(): Promise<void> {
    await this.udpReady;
    this.spawnWorker();
  }

  /** Adds the live:* handlers to every socket of the gateway. */
  attach(io: LiveServer): void {
    io.on('connection', (socket) => this.accept(socket));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.feedCheck);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const viewer of [...this.viewers.values()]) this.endViewer(viewer, 'server_stopping', { notifyWorker: false, notifyClient: true });
    const run = this.run;
    this.run = null;
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => run.child.once('exit', () => resolve()));
      this.killGroup(run.child, 'SIGTERM');
      const force = setTimeout(() => this.killGroup(run.child, 'SIGKILL'), 2000);
      await exited;
      clearTimeout(force);
    }
    this.failPending();
    const pulls = [...this.feeds.values()].map((feed) => feed.pull);
    for (const feed of [...this.feeds.values()]) this.dropFeed(feed);
    await Promise.allSettled(pulls.map((pull) => pull?.close()));
    this.udp.close();
  }

  /** Live views open now. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Sub streams pulled now (one per camera watched in a grid). */
  get subStreamPullCount(): number {
    return [...this.feeds.values()].filter((feed) => feed.pull).length;
  }

  // Worker supervision ------------------------------------------------------------------------

  private spawnWorker(): void {
    if (this.closed) return;
    const node = process.execPath;
    const args = ['--import', import.meta.resolve('tsx'), this.options.workerModule ?? WORKER_MODULE];
    let cmd = node;
    let argv = args;
    if (haveSetpriv()) {
      // Dies with the server even when the server is SIGKILLed.
      cmd = SETPRIV;
      argv = ['--pdeathsig', 'KILL', node, ...args];
    }
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        detached: true,
        env: { ...process.env, HR_WEBRTC_WORKER: '1' },
      });
    } catch (err) {
      this.log.error({ err }, 'webrtc worker could not be spawned');
      this.scheduleRestart();
      return;
    }
    const run: WorkerRun = { child, startedAt: Date.now(), port: null };
    this.run = run;
    child.once('spawn', () => {
      childRegistry()?.add(child.pid!);
      try {
        // Under full load the recording and the API come first: live views degrade, evidence does not.
        setPriority(child.pid!, WORKER_NICENESS);
      } catch (err) {
        this.log.debug({ err }, 'could not lower the webrtc worker priority');
      }
      this.log.info({ pid: child.pid }, 'webrtc worker started');
      const address = this.udp.address();
      this.sendTo(run, {
        type: 'init',
        iceServers: this.options.iceServers,
        candidateAddresses: this.options.candidateAddresses,
        loopbackOnly: this.options.candidateAddresses.every(isLoopback),
        rtpSource: { address: address.address, port: address.port },
        logLevel: this.options.logLevel,
      });
    });
    child.on('message', (message: FromWorker) => {
      if (this.run !== run) return;
      try {
        this.onWorkerMessage(run, message);
      } catch (err) {
        this.log.error({ err }, 'worker message handling failed');
      }
    });
    child.on('error', (err) => this.log.warn({ err }, 'webrtc worker process error'));
    child.once('exit', (code, signal) => {
      if (child.pid) childRegistry()?.remove(child.pid);
      this.killGroup(child, 'SIGKILL');
      if (this.run !== run) return;
      this.run = null;
      this.log.warn({ pid: child.pid, code, signal }, 'webrtc worker exited');
      this.workerGone();
      if (Date.now() - run.startedAt > STABLE_AFTER_MS) this.attempts = 0;
      this.scheduleRestart();
    });
  }

  private scheduleRestart(): void {
    if (this.closed || this.restartTimer) return;
    const delay = Math.min(BACKOFF_START_MS * 2 ** this.attempts, BACKOFF_CAP_MS);
    this.attempts++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.spawnWorker();
    }, delay);
  }

  /** Every viewer ends (their pages watch again), every feed stops, every request fails. */
  private workerGone(): void {
    this.failPending();
    for (const viewer of [...this.viewers.values()]) this.endViewer(viewer, 'worker_restart', { notifyWorker: false, notifyClient: true });
    for (const feed of [...this.feeds.values()]) this.dropFeed(feed);
  }

  private failPending(): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.resolve({ type: 'failed', requestId: id, code: 'live_unavailable', message: 'Live view is restarting; it will be back in a moment.' });
    }
    this.pending.clear();
  }

  private onWorkerMessage(run: WorkerRun, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        run.port = message.port;
        this.log.debug({ port: message.port }, 'webrtc worker ready');
        return;
      case 'offer':
      case 'answered':
      case 'failed': {
        const pending = this.pending.get(message.requestId);
        if (!pending) return;
        this.pending.delete(message.requestId);
        clearTimeout(pending.timer);
        pending.resolve(message);
        return;
      }
      case 'connected': {
        const viewer = this.viewers.get(message.viewerId);
        if (!viewer || viewer.custodyId !== null) return;
        viewer.custodyId = this.safely(() =>
          this.deps.custody.open({
            sessionId: viewer.roomId ? (this.deps.sessions.activeInRoom(viewer.roomId)?.id ?? null) : null,
            roomId: viewer.roomId,
            cameraId: viewer.cameraId,
            username: viewer.username,
            action: 'live_view',
            detail: { viewerId: viewer.id, stream: viewer.stream, transport: 'webrtc' },
          }),
        );
        return;
      }
      case 'ended': {
        const viewer = this.viewers.get(message.viewerId);
        if (viewer) this.endViewer(viewer, message.reason, { notifyWorker: false, notifyClient: true });
        return;
      }
    }
  }

  private sendTo(run: WorkerRun, message: ToWorker): boolean {
    if (!run.child.connected) return false;
    try {
      run.child.send(message, (err) => {
        if (err) this.log.debug({ err, type: message.type }, 'message to webrtc worker lost');
      });
      return true;
    } catch (err) {
      this.log.debug({ err, type: message.type }, 'message to webrtc worker lost');
      return false;
    }
  }

  /** Sends a request and waits for its reply (`failed` when the worker goes or does not answer in time). */
  private request(run: WorkerRun, make: (requestId: number) => ToWorker): Promise<FromWorker> {
    const requestId = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        resolve({ type: 'failed', requestId, code: 'live_unavailable', message: 'The live service did not answer in time; try again.' });
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, timer });
      if (!this.sendTo(run, make(requestId))) {
        clearTimeout(timer);
        this.pending.delete(requestId);
        resolve({ type: 'failed', requestId, code: 'live_unavailable', message: 'Live view is restarting; it will be back in a moment.' });
      }
    });
  }

  // Sockets ----------------------------------------------------------------------------------

  private accept(socket: LiveSocket): void {
    socket.on('live:watch', (request, ack) => {
      if (typeof ack !== 'function') return;
      this.watch(socket, request).then(
        (result) => ack({ ok: true, ...result }),
        (err: unknown) => ack(this.failure(err)),
      );
    });
    socket.on('live:answer', (request, ack) => {
      if (typeof ack !== 'function') return;
      this.answer(socket, request).then(
        () => ack({ ok: true }),
        (err: unknown) => ack(this.failure(err)),
      );
    });
    socket.on('live:stop', (request) => {
      const viewer = typeof request?.viewerId === 'string' ? this.viewers.get(request.viewerId) : undefined;
      if (viewer && viewer.socket === socket) this.endViewer(viewer, 'stopped', { notifyWorker: true, notifyClient: false });
    });
    socket.on('disconnect', () => {
      for (const viewer of [...this.viewers.values()]) {
        if (viewer.socket === socket) this.endViewer(viewer, 'socket_closed', { notifyWorker: true, notifyClient: false });
      }
    });
  }

  private failure(err: unknown): Failure {
    if (err instanceof LiveError) return { ok: false, error: { code: err.code, message: err.message } };
    this.log.error({ err }, 'live request failed');
    return { ok: false, error: { code: 'internal', message: 'Live view failed on the server; try again.' } };
  }

  /** Who may watch a camera: supervisors, and clerks for their rooms (CONTRACTS.md, issue 5). */
  private authorize(socket: LiveSocket, cameraId: string): { user: AuthUser; roomId: string | null } {
    const user = this.deps.auth.authenticate(socket.data.sessionToken);
    if (!user) throw new LiveError('unauthorized', 'Your login has ended; log in again.');
    if (!hasAnyRole(user, ['supervisor', 'clerk'])) throw new LiveError('forbidden', 'Live view is for supervisors and the clerks of a room.');
    const camera = this.deps.cameras.get(cameraId);
    if (!camera) throw new LiveError('not_found', `There is no camera "${cameraId}".`);
    const roomId = camera.roomId;
    const allowed = roomId ? canAccessRoom(user, roomId) : hasAnyRole(user, ['supervisor']) && user.rooms.length === 0;
    if (!allowed) throw new LiveError('forbidden', 'You may not watch this camera: it is not in one of your rooms.');
    return { user, roomId };
  }

  private async watch(socket: LiveSocket, request: { cameraId: string; stream: LiveStreamKind }): Promise<{ viewerId: string; offer: { type: 'offer'; sdp: string }; iceServers: WorkerIceServer[] }> {
    if (typeof request?.cameraId !== 'string' || (request.stream !== 'main' && request.stream !== 'sub')) {
      throw new LiveError('bad_request', 'Send { cameraId, stream: "main" | "sub" }.');
    }
    const { user, roomId } = this.authorize(socket, request.cameraId);
    const inFlight = this.watching.get(socket) ?? 0;
    if (inFlight + [...this.viewers.values()].filter((v) => v.socket === socket).length >= MAX_VIEWERS_PER_SOCKET) {
      throw new LiveError('too_many_viewers', `At most ${MAX_VIEWERS_PER_SOCKET} live views per page; close some first.`);
    }
    this.watching.set(socket, inFlight + 1);
    try {
      return await this.offer(socket, request, user, roomId);
    } finally {
      const left = (this.watching.get(socket) ?? 1) - 1;
      if (left > 0) this.watching.set(socket, left);
      else this.watching.delete(socket);
    }
  }

  private async offer(socket: LiveSocket, request: { cameraId: string; stream: LiveStreamKind }, user: AuthUser, roomId: string | null): Promise<{ viewerId: string; offer: { type: 'offer'; sdp: string }; iceServers: WorkerIceServer[] }> {
    const run = this.run;
    if (!run || run.port === null || this.closed) throw UNAVAILABLE();
    if (!this.deps.ingestOf(request.cameraId)) throw new LiveError('camera_offline', 'The camera is not streaming now; its state shows why.');
    const viewerId = randomUUID();
    // The camera's RTP flows before the viewer exists, so its first keyframe is not missed.
    const sub = request.stream === 'sub' ? this.safely(() => this.deps.subStreamOf(request.cameraId)) : null;
    const feed = this.feedFor(request.cameraId, sub, run);
    feed.viewers.add(viewerId);
    const reply = await this.request(run, (requestId) => ({ type: 'watch', requestId, viewerId, cameraIndex: feed.index }));
    if (reply.type !== 'offer' || socket.disconnected || this.run !== run) {
      if (reply.type === 'offer') this.sendTo(run, { type: 'stop', viewerId });
      this.releaseFeed(feed.key, viewerId);
      if (reply.type === 'failed') throw new LiveError(reply.code === 'not_found' ? 'camera_offline' : reply.code, reply.message);
      throw UNAVAILABLE();
    }
    this.viewers.set(viewerId, { id: viewerId, socket, username: user.username, cameraId: request.cameraId, roomId, stream: sub ? 'sub' : 'main', feedKey: feed.key, custodyId: null });
    this.log.info({ viewerId, camera: request.cameraId, room: roomId, username: user.username, stream: sub ? 'sub' : 'main' }, 'live viewer offered');
    return { viewerId, offer: { type: 'offer', sdp: reply.sdp }, iceServers: this.options.iceServers };
  }

  private async answer(socket: LiveSocket, request: { viewerId: string; answer: { type: 'answer'; sdp: string } }): Promise<void> {
    const viewer = typeof request?.viewerId === 'string' ? this.viewers.get(request.viewerId) : undefined;
    if (!viewer || viewer.socket !== socket) throw new LiveError('not_found', 'This live view has ended; watch again.');
    if (request.answer?.type !== 'answer' || typeof request.answer.sdp !== 'string' || request.answer.sdp.length > 64 * 1024) {
      throw new LiveError('bad_request', 'Send { viewerId, answer: { type: "answer", sdp } } with the complete answer.');
    }
    const run = this.run;
    if (!run) throw UNAVAILABLE();
    const reply = await this.request(run, (requestId) => ({ type: 'answer', requestId, viewerId: viewer.id, sdp: request.answer.sdp }));
    if (reply.type === 'failed') {
      if (reply.code !== 'already_answered') this.endViewer(viewer, reply.code, { notifyWorker: false, notifyClient: false });
      throw new LiveError(reply.code, reply.message);
    }
  }

  private endViewer(viewer: Viewer, reason: string, how: { notifyWorker: boolean; notifyClient: boolean }): void {
    if (this.viewers.get(viewer.id) !== viewer) return;
    this.viewers.delete(viewer.id);
    if (how.notifyWorker && this.run) this.sendTo(this.run, { type: 'stop', viewerId: viewer.id });
    this.releaseFeed(viewer.feedKey, viewer.id);
    if (how.notifyClient && viewer.socket.connected) viewer.socket.emit('live:ended', { viewerId: viewer.id, reason });
    const custodyId = viewer.custodyId;
    if (custodyId !== null) this.safely(() => this.deps.custody.close(custodyId, { endReason: reason }));
    this.log.info({ viewerId: viewer.id, camera: viewer.cameraId, username: viewer.username, reason }, 'live viewer ended');
  }

  // Feeds ------------------------------------------------------------------------------------

  private feedFor(cameraId: string, sub: SubStreamSource | null, run: WorkerRun): Feed {
    const key = sub ? `${cameraId}#sub` : cameraId;
    let feed = this.feeds.get(key);
    if (!feed) {
      feed = { key, cameraId, source: sub, pull: null, index: this.freeIndex(), ingest: null, unsubscribe: null, sdp: null, viewers: new Set() };
      this.feeds.set(key, feed);
      this.sendTo(run, { type: 'camera', index: feed.index, cameraId, sdp: '' });
      if (sub) this.pullSubStream(feed, sub);
      this.subscribe(feed);
    }
    return feed;
  }

  /** The next 16-bit feed index no current feed holds (indexes are reused after 65535 feeds). */
  private freeIndex(): number {
    const used = new Set([...this.feeds.values()].map((f) => f.index));
    while (used.has(this.nextIndex)) this.nextIndex = (this.nextIndex % 0xffff) + 1;
    const index = this.nextIndex;
    this.nextIndex = (this.nextIndex % 0xffff) + 1;
    return index;
  }

  /** Grid tiles: the camera's sub stream, pulled only while the feed has viewers. */
  private pullSubStream(feed: Feed, source: SubStreamSource): void {
    const pull = new SubStreamPull(feed.cameraId, source, this.log.child({ camera: feed.cameraId, stream: 'sub' }));
    feed.pull = pull;
    const header = Buffer.from([RTP_MAGIC, TRACK_VIDEO, feed.index >> 8, feed.index & 0xff]);
    pull.on('sdp', (sdp) => {
      if (sdp === feed.sdp) return;
      feed.sdp = sdp;
      if (this.run) this.sendTo(this.run, { type: 'camera', index: feed.index, cameraId: feed.cameraId, sdp });
    });
    pull.on('rtp', (packet) => this.forward(header, packet));
    pull.start();
  }

  /** One packet to the worker: copied behind the header, sent without waiting, never throwing. */
  private forward(header: Buffer, packet: Buffer): void {
    const run = this.run;
    if (!run || run.port === null) return;
    const datagram = Buffer.allocUnsafe(RTP_HEADER_BYTES + packet.length);
    header.copy(datagram, 0);
    packet.copy(datagram, RTP_HEADER_BYTES);
    this.udp.send(datagram, run.port, '127.0.0.1', (err) => {
      if (err) this.log.debug({ err }, 'RTP datagram to worker lost');
    });
  }

  private releaseFeed(key: string, viewerId: string): void {
    const feed = this.feeds.get(key);
    if (!feed) return;
    feed.viewers.delete(viewerId);
    if (feed.viewers.size === 0) this.dropFeed(feed);
  }

  private dropFeed(feed: Feed): void {
    feed.unsubscribe?.();
    feed.unsubscribe = null;
    feed.ingest = null;
    void feed.pull?.close();
    feed.pull = null;
    this.feeds.delete(feed.key);
    if (this.run) this.sendTo(this.run, { type: 'forget', index: feed.index });
  }

  /**
   * Subscribes to the camera's current ingest (a camera's ingest is replaced when its stream URL
   * changes or the disk fills). A sub-stream feed only notes it: its media comes from its own pull.
   */
  private subscribe(feed: Feed): void {
    const ingest = this.deps.ingestOf(feed.cameraId) ?? null;
    if (ingest === feed.ingest) return;
    feed.unsubscribe?.();
    feed.unsubscribe = null;
    feed.ingest = ingest;
    if (!ingest || feed.source) return;
    const videoHeader = Buffer.from([RTP_MAGIC, TRACK_VIDEO, feed.index >> 8, feed.index & 0xff]);
    const audioHeader = Buffer.from([RTP_MAGIC, TRACK_AUDIO, feed.index >> 8, feed.index & 0xff]);
    feed.unsubscribe = ingest.subscribeRtp((rtp: RtpFromCamera) => {
      // Runs inside the ingest's relay: never throw, never wait.
      try {
        const header = rtp.track.kind === 'video' ? videoHeader : rtp.track.kind === 'audio' ? audioHeader : null;
        if (!header) return;
        const run = this.run;
        if (!run || run.port === null) return;
        if (rtp.sdp !== feed.sdp) {
          feed.sdp = rtp.sdp;
          this.sendTo(run, { type: 'camera', index: feed.index, cameraId: feed.cameraId, sdp: rtp.sdp });
        }
        this.forward(header, rtp.packet);
      } catch (err) {
        this.log.debug({ err }, 'RTP forwarding failed');
      }
    });
  }

  /** Follows ingest replacements; a camera whose ingest is gone (removed, disabled, disk full) ends its viewers. */
  private checkFeeds(): void {
    if (Date.now() - this.lastReauthorize >= REAUTHORIZE_MS) {
      this.lastReauthorize = Date.now();
      this.reauthorize();
    }
    for (const feed of [...this.feeds.values()]) {
      this.safely(() => {
        this.subscribe(feed);
        if (feed.ingest) return;
        for (const viewerId of [...feed.viewers]) {
          const viewer = this.viewers.get(viewerId);
          if (viewer) this.endViewer(viewer, 'camera_gone', { notifyWorker: true, notifyClient: true });
        }
      });
    }
  }

  /** Ends the views their users may no longer watch (the socket's end is handled by its disconnect). */
  private reauthorize(): void {
    for (const viewer of [...this.viewers.values()]) {
      try {
        this.authorize(viewer.socket, viewer.cameraId);
      } catch (err) {
        this.endViewer(viewer, err instanceof LiveError ? err.code : 'forbidden', { notifyWorker: true, notifyClient: true });
      }
    }
  }

  private safely<T>(fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      this.log.error({ err }, 'live bookkeeping failed');
      return null;
    }
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

let setprivChecked: boolean | null = null;
function haveSetpriv(): boolean {
  if (setprivChecked === null) {
    try {
      accessSync(SETPRIV, constants.X_OK);
      setprivChecked = true;
    } catch {
      setprivChecked = false;
    }
  }
  return setprivChecked;
}
