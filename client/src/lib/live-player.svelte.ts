// Plays one camera live in a <video>: WebRTC first (signalled over the socket), FLV through mpegts.js
// when WebRTC shows no picture within a few seconds (networks that block UDP), or either one by hand.
// It watches again by itself after the server ends a viewer (`live:ended`) or the socket reconnects,
// and releases everything on destroy(). Only state transitions touch Svelte state: frames never do.
//
// Nothing here needs a secure context: the product is opened over plain HTTP on a LAN address.
import type Mpegts from 'mpegts.js';
import { ApiError, get } from './api.ts';
import { live } from './live.svelte.ts';
import type { LiveStreamKind } from '../../../server/src/realtime/events.ts';

export type LiveMode = 'auto' | 'webrtc' | 'flv';
/** What to play: a fixed camera (WebRTC or FLV), or a portable device's RTMP push (FLV only). */
export interface LiveSource {
  kind: 'camera' | 'device';
  id: string;
}
export type LiveTransport = 'webrtc' | 'flv';
/** `connecting` until a frame is shown; `retrying` between attempts; `error` when watching is refused. */
export type LiveStatus = 'idle' | 'connecting' | 'playing' | 'retrying' | 'error';

/** No decoded frame within this long: WebRTC counts as blocked (auto mode falls back to FLV). */
export const FIRST_FRAME_TIMEOUT_MS = 4_000;
/** The same for FLV (a keyframe has to arrive through the server's muxer first), and for re-watches. */
const SLOW_FIRST_FRAME_TIMEOUT_MS = 8_000;
/** ICE gathering is local (host candidates); past this the answer goes with what it has. */
const GATHERING_TIMEOUT_MS = 2_000;
/** A picture that stops moving for this long is watched again. */
const STALL_MS = 6_000;
const STALL_CHECK_MS = 2_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 15_000;
/** WebRTC failures that say the network does not carry it: auto mode falls back to FLV on these. */
const NETWORK_FAILURES = new Set(['no_video', 'ice_failed', 'timeout', 'offline']);
/** Refusals that another attempt would not change. */
const FINAL_ERRORS = new Set(['forbidden', 'not_found', 'camera_not_found', 'unknown_camera', 'unauthorized']);

type MpegtsModule = typeof Mpegts;
let mpegtsModule: Promise<MpegtsModule> | null = null;
/** mpegts.js is loaded on the first FLV fallback only. */
function loadMpegts(): Promise<MpegtsModule> {
  mpegtsModule ??= import('mpegts.js').then((m) => m.default);
  return mpegtsModule;
}

interface FlvUrl {
  url: string;
  expiresAt: string;
}

export class LivePlayer {
  status = $state<LiveStatus>('idle');
  transport = $state<LiveTransport | null>(null);
  mode = $state<LiveMode>('auto');
  /** Auto mode gave up on WebRTC for this camera (until the mode is changed by hand). */
  fellBack = $state(false);
  /** The last failure's code (`no_video`, `ice_failed`, `forbidden`, …), null while all is well. */
  error = $state<string | null>(null);

  private readonly video: HTMLVideoElement;
  private readonly source: LiveSource;
  private stream: LiveStreamKind;
  /** Bumped by every attempt and by destroy(): async work of an older attempt stops at its next step. */
  private generation = 0;
  private pc: RTCPeerConnection | null = null;
  private viewerId: string | null = null;
  private flv: Mpegts.Player | null = null;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private stallTimer: ReturnType<typeof setInterval> | null = null;
  private frameCallback: number | null = null;
  private retries = 0;
  /** Why auto mode fell back to FLV (`offline`: the socket was away, so WebRTC is tried again on connect). */
  private fallbackCause: string | null = null;
  /** WebRTC has shown pictures in this player: the network carries it, later failures are the server's. */
  private webrtcPlayed = false;
  /** The watch request found the socket down and waits for it to connect. */
  private waitingForSocket = false;
  private destroyed = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly onVideoEvent = () => this.checkFirstFrame();

  constructor(video: HTMLVideoElement, source: LiveSource, stream: LiveStreamKind, mode: LiveMode = 'auto') {
    this.video = video;
    this.source = source;
    this.stream = stream;
    this.mode = source.kind === 'device' ? 'flv' : mode;
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    this.unsubscribe.push(
      live.on('live:ended', ({ viewerId }) => {
        if (viewerId !== this.viewerId || this.destroyed) return;
        this.viewerId = null;
        void this.run('webrtc', SLOW_FIRST_FRAME_TIMEOUT_MS);
      }),
      live.onConnect(() => {
        if (this.destroyed || this.status === 'idle') return;
        // The server dropped this socket's viewers with the old connection.
        if (this.transport === 'webrtc') {
          this.viewerId = null;
          void this.run('webrtc', this.status === 'playing' ? SLOW_FIRST_FRAME_TIMEOUT_MS : FIRST_FRAME_TIMEOUT_MS);
        } else if (this.mode === 'auto' && this.fellBack && this.fallbackCause === 'offline') {
          // FLV only stood in while the socket was away: WebRTC again.
          this.fellBack = false;
          void this.run('webrtc');
        }
      }),
    );
  }

  start(): void {
    if (this.destroyed) return;
    void this.run(this.mode === 'flv' ? 'flv' : 'webrtc');
  }

  /** The manual switch: `auto` tries WebRTC again first. */
  setMode(mode: LiveMode): void {
    if (this.destroyed || this.source.kind === 'device') return;
    this.mode = mode;
    this.fellBack = false;
    this.retries = 0;
    void this.run(mode === 'flv' ? 'flv' : 'webrtc');
  }

  setStream(stream: LiveStreamKind): void {
    if (this.destroyed || stream === this.stream) return;
    this.stream = stream;
    if (this.status !== 'idle') void this.run(this.transport ?? (this.mode === 'flv' ? 'flv' : 'webrtc'));
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.generation++;
    for (const off of this.unsubscribe) off();
    this.teardown();
    this.status = 'idle';
    this.transport = null;
  }

  private async run(transport: LiveTransport, firstFrameMs = transport === 'flv' ? SLOW_FIRST_FRAME_TIMEOUT_MS : FIRST_FRAME_TIMEOUT_MS): Promise<void> {
    if (this.destroyed) return;
    if (this.source.kind === 'device') transport = 'flv';
    this.teardown();
    const gen = ++this.generation;
    this.transport = transport;
    this.status = 'connecting';
    this.watchFirstFrame(gen, firstFrameMs);
    try {
      if (transport === 'webrtc') await this.startWebRtc(gen);
      else await this.startFlv(gen);
    } catch (e) {
      this.fail(gen, codeOf(e));
    }
  }

  private async startWebRtc(gen: number): Promise<void> {
    let watched = await live.watch(this.source.id, this.stream);
    // The live worker restarts by itself: ask again while the first-frame deadline runs.
    while (!watched.ok && watched.error.code === 'live_unavailable' && gen === this.generation) {
      await this.sleep(1_000);
      if (gen !== this.generation) return;
      watched = await live.watch(this.source.id, this.stream);
    }
    if (gen !== this.generation) {
      if (watched.ok) live.stop(watched.viewerId);
      return;
    }
    if (!watched.ok) {
      // The socket is not up yet (or reconnecting): it watches again once connected; the first-frame
      // deadline still runs, so a socket that never comes leads to FLV.
      if (watched.error.code === 'offline') {
        this.waitingForSocket = true;
        return;
      }
      return this.fail(gen, watched.error.code);
    }
    this.viewerId = watched.viewerId;
    const pc = new RTCPeerConnection(watched.iceServers?.length ? { iceServers: watched.iceServers } : {});
    this.pc = pc;
    pc.ontrack = (event) => {
      if (gen !== this.generation) return;
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      if (this.video.srcObject !== stream) {
        // Tracks without a stream id (audio and video apart) are gathered into one stream.
        if (!event.streams[0] && this.video.srcObject instanceof MediaStream) this.video.srcObject.addTrack(event.track);
        else this.video.srcObject = stream;
      }
      void this.video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this.generation) return;
      if (pc.connectionState === 'failed') this.fail(gen, 'ice_failed');
    };
    await pc.setRemoteDescription(watched.offer);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.gatheringComplete(pc);
    if (gen !== this.generation) return;
    const sdp = pc.localDescription?.sdp ?? answer.sdp ?? '';
    const answered = await live.answer(watched.viewerId, sdp);
    if (gen !== this.generation) return;
    if (!answered.ok) this.fail(gen, answered.error.code);
  }

  /** The server takes no trickled candidates: the answer goes once gathering is complete. */
  private gatheringComplete(pc: RTCPeerConnection): Promise<void> {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        pc.removeEventListener('icegatheringstatechange', check);
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve();
      };
      const check = () => {
        if (pc.iceGatheringState === 'complete') done();
      };
      const timer = setTimeout(done, GATHERING_TIMEOUT_MS);
      this.timers.add(timer);
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  private async startFlv(gen: number): Promise<void> {
    const path = `/api/live/${this.source.kind === 'device' ? 'devices' : 'cameras'}/${encodeURIComponent(this.source.id)}/flv-url`;
    const [{ url }, mpegts] = await Promise.all([get<FlvUrl>(path), loadMpegts()]);
    if (gen !== this.generation) return;
    if (!mpegts.isSupported()) return this.fail(gen, 'flv_unsupported');
    const player = mpegts.createPlayer(
      { type: 'flv', isLive: true, url },
      {
        enableWorker: false,
        enableStashBuffer: false,
        stashInitialSize: 64 * 1024,
        lazyLoad: false,
        liveBufferLatencyChasing: true,
        liveBufferLatencyChasingOnPaused: true,
        liveBufferLatencyMaxLatency: 1.2,
        liveBufferLatencyMinRemain: 0.2,
        autoCleanupSourceBuffer: true,
        autoCleanupMaxBackwardDuration: 12,
        autoCleanupMinBackwardDuration: 6,
      },
    );
    this.flv = player;
    player.on(mpegts.Events.ERROR, (type: string, detail: string) => {
      if (gen === this.generation) this.fail(gen, `flv_${String(detail || type).toLowerCase()}`);
    });
    player.on(mpegts.Events.LOADING_COMPLETE, () => {
      // A live stream that ends was closed by the server: play it again.
      if (gen === this.generation) this.fail(gen, 'flv_ended');
    });
    player.attachMediaElement(this.video);
    player.load();
    void Promise.resolve(player.play()).catch(() => {});
  }

  /** Frames are noticed once (the first) and then sampled every few seconds for stalls. */
  private watchFirstFrame(gen: number, timeoutMs: number): void {
    const video = this.video;
    video.addEventListener('timeupdate', this.onVideoEvent);
    if (typeof video.requestVideoFrameCallback === 'function') {
      this.frameCallback = video.requestVideoFrameCallback(() => {
        this.frameCallback = null;
        if (gen === this.generation) this.playing(gen);
      });
    }
    const expire = (extended: boolean) => {
      if (gen !== this.generation || this.status !== 'connecting') return;
      // A hidden tab shows no frames: judge the transport once the page is seen.
      if (document.visibilityState !== 'visible') {
        this.after(1_000, () => expire(extended));
        return;
      }
      // A peer that connected shows the network carries WebRTC: its first keyframe is late (a long
      // GOP, a busy server), which FLV would not cure. It gets one longer wait before counting as failed.
      if (!extended && this.transport === 'webrtc' && this.pc?.connectionState === 'connected') {
        this.after(SLOW_FIRST_FRAME_TIMEOUT_MS, () => expire(true));
        return;
      }
      this.fail(gen, this.transport === 'flv' ? 'flv_no_video' : this.waitingForSocket ? 'offline' : extended ? 'no_video_connected' : 'no_video');
    };
    this.after(timeoutMs, () => expire(false));
  }

  private checkFirstFrame(): void {
    if (this.status === 'connecting' && this.video.currentTime > 0 && this.video.readyState >= 2) this.playing(this.generation);
  }

  private playing(gen: number): void {
    if (gen !== this.generation || this.status === 'playing') return;
    this.video.removeEventListener('timeupdate', this.onVideoEvent);
    this.status = 'playing';
    this.error = null;
    if (this.transport === 'webrtc') this.webrtcPlayed = true;
    this.retries = 0;
    let lastTime = this.video.currentTime;
    let lastChange = performance.now();
    this.stallTimer = setInterval(() => {
      if (gen !== this.generation) return;
      const now = performance.now();
      if (this.video.currentTime !== lastTime) {
        lastTime = this.video.currentTime;
        lastChange = now;
      } else if (document.visibilityState === 'visible' && now - lastChange > STALL_MS) {
        this.fail(gen, 'stalled');
      }
    }, STALL_CHECK_MS);
  }

  private fail(gen: number, code: string): void {
    if (gen !== this.generation || this.destroyed) return;
    const transport = this.transport;
    const wasPlaying = this.status === 'playing';
    this.error = code;
    this.teardown();
    this.generation++;
    if (FINAL_ERRORS.has(code)) {
      this.status = 'error';
      return;
    }
    // Auto mode: WebRTC that never showed a frame is blocked on this network, so FLV takes over. A
    // camera that is offline, a server that refuses for now, or a WebRTC that played here before
    // (a restarting live worker, not the network) is asked again the same way.
    if (this.mode === 'auto' && transport === 'webrtc' && !wasPlaying && !this.webrtcPlayed && NETWORK_FAILURES.has(code)) {
      this.fellBack = true;
      this.fallbackCause = code;
      void this.run('flv');
      return;
    }
    this.status = 'retrying';
    const delay = wasPlaying ? RETRY_MIN_MS : Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retries++);
    // Auto mode whose FLV never played either: start over with WebRTC (what failed may be gone).
    let next: LiveTransport = transport ?? 'webrtc';
    if (this.mode === 'auto' && transport === 'flv' && !wasPlaying) {
      next = 'webrtc';
      this.fellBack = false;
    }
    const retryGen = this.generation;
    this.after(delay, () => {
      if (retryGen === this.generation) void this.run(next);
    });
  }

  /** Stops whatever plays now: the viewer on the server, the peer connection, the FLV player. */
  private teardown(): void {
    this.waitingForSocket = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = null;
    if (this.frameCallback !== null) this.video.cancelVideoFrameCallback(this.frameCallback);
    this.frameCallback = null;
    this.video.removeEventListener('timeupdate', this.onVideoEvent);
    if (this.viewerId) live.stop(this.viewerId);
    this.viewerId = null;
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    if (this.flv) {
      const player = this.flv;
      this.flv = null;
      try {
        player.pause();
        player.unload();
        player.detachMediaElement();
        player.destroy();
      } catch {
        // already torn down by its own error
      }
    }
    if (this.video.srcObject) this.video.srcObject = null;
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  private after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }
}

function codeOf(e: unknown): string {
  if (e instanceof ApiError) return e.status === 403 ? 'forbidden' : e.status === 404 ? 'not_found' : e.code;
  return e instanceof Error ? e.name : 'error';
}
