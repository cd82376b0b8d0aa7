// Synchronised replay of a session's cameras: one master video (the main view) plays, the others
// follow it by capture time, their currentTime corrected whenever they drift. Each camera plays the
// server's HLS playlist with hls.js (native HLS only where Media Source Extensions are missing).
// The wall-clock time shown is the capture time of the master's current frame, from the
// playlist's EXT-X-PROGRAM-DATE-TIME.
import type Hls from 'hls.js';
import { parsePlaylist, positionOf, wallAt, type FragTime } from './playlist.ts';

type HlsClass = typeof Hls;
let hlsModule: Promise<HlsClass> | null = null;
const loadHls = () => (hlsModule ??= import('hls.js').then((m) => m.default));

/** The simulator and the rooms' cameras run at 25 fps. */
export const FRAME_S = 1 / 25;
export const SPEEDS = [0.5, 1, 1.5, 2, 4] as const;
/** A follower further than this from the master's capture time is moved (a little over two frames). */
const DRIFT_S = 0.1;

class CameraPlayer {
  frags = $state.raw<FragTime[]>([]);
  /** No recording of this camera at the master's time (a gap): the picture is held. */
  inGap = $state(false);
  ready = $state(false);
  failed = $state(false);
  hls: Hls | null = null;
  private generation = 0;

  constructor(
    readonly cameraId: string,
    readonly video: HTMLVideoElement,
  ) {}

  /** Loads a playlist and starts it at a capture instant (or, for a stage, at its EXT-X-START). */
  async load(url: string, startAtMs: number | null, useStartOffset: boolean): Promise<void> {
    const generation = ++this.generation;
    this.destroyHls();
    this.ready = false;
    this.failed = false;
    this.frags = [];
    const HlsJs = await loadHls();
    if (generation !== this.generation) return;
    const startAt = (frags: FragTime[], startOffset: number | null): number => {
      if (useStartOffset && startOffset !== null) return Math.max(0, startOffset);
      if (startAtMs === null) return 0;
      return positionOf(frags, startAtMs)?.position ?? 0;
    };
    if (HlsJs.isSupported()) {
      const hls = new HlsJs({ autoStartLoad: false, enableWorker: true, lowLatencyMode: false, backBufferLength: 60 });
      this.hls = hls;
      let started = false;
      const update = (details: { fragments: { start: number; duration: number; programDateTime: number | null; cc: number }[]; startTimeOffset: number | null }) => {
        let cc = details.fragments[0]?.cc ?? 0;
        this.frags = details.fragments.map((f) => {
          const frag = { start: f.start, duration: f.duration, pdtMs: f.programDateTime ?? Number.NaN, discontinuity: f.cc !== cc };
          cc = f.cc;
          return frag;
        });
        if (!started) {
          started = true;
          const position = startAt(this.frags, details.startTimeOffset);
          hls.startLoad(position);
          this.video.currentTime = position;
        }
      };
      hls.on(HlsJs.Events.LEVEL_LOADED, (_e, data) => update(data.details));
      hls.on(HlsJs.Events.LEVEL_PTS_UPDATED, (_e, data) => update(data.details));
      hls.on(HlsJs.Events.FRAG_BUFFERED, () => {
        this.ready = true;
      });
      hls.on(HlsJs.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        if (data.type === HlsJs.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else this.failed = true;
      });
      hls.attachMedia(this.video);
      hls.loadSource(url);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      const text = await fetch(url, { credentials: 'same-origin' }).then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))));
      if (generation !== this.generation) return;
      const parsed = parsePlaylist(text);
      this.frags = parsed.frags;
      const position = startAt(parsed.frags, parsed.startOffset);
      this.video.src = url;
      this.video.addEventListener('loadedmetadata', () => {
        this.video.currentTime = position;
        this.ready = true;
      }, { once: true });
    } else {
      this.failed = true;
    }
  }

  wallMs(): number | null {
    return wallAt(this.frags, this.video.currentTime);
  }

  destroyHls(): void {
    this.hls?.destroy();
    this.hls = null;
  }

  destroy(): void {
    this.generation++;
    this.destroyHls();
    this.video.removeAttribute('src');
    this.video.load();
  }
}

export interface GapNotice {
  fromMs: number;
  toMs: number;
}

export class ReplayController {
  /** Capture time (epoch ms) of the master's current frame. */
  wallMs = $state<number | null>(null);
  master = $state<string | null>(null);
  rate = $state(1);
  paused = $state(true);
  /** The last gap the replay skipped, shown until dismissed or the next one. */
  gap = $state<GapNotice | null>(null);
  /** The stage opened (its item), or null for the whole recording. */
  item = $state<number | null>(null);
  private readonly players = new Map<string, CameraPlayer>();
  private readonly states = $state<Record<string, { ready: boolean; inGap: boolean; failed: boolean }>>({});
  private timer: ReturnType<typeof setInterval> | null = null;
  private last: { wallMs: number; position: number } | null = null;

  constructor(private readonly sessionId: string) {}

  attach(cameraId: string, video: HTMLVideoElement): void {
    this.players.get(cameraId)?.destroy();
    video.muted = true;
    video.playsInline = true;
    this.players.set(cameraId, new CameraPlayer(cameraId, video));
    this.master ??= cameraId;
    this.timer ??= setInterval(() => this.tick(), 100);
  }

  detach(cameraId: string): void {
    this.players.get(cameraId)?.destroy();
    this.players.delete(cameraId);
  }

  stateOf(cameraId: string): { ready: boolean; inGap: boolean; failed: boolean } {
    return this.states[cameraId] ?? { ready: false, inGap: false, failed: false };
  }

  private url(cameraId: string, item: number | null): string {
    const base = `/api/sessions/${encodeURIComponent(this.sessionId)}/cameras/${encodeURIComponent(cameraId)}/index.m3u8`;
    return item === null ? base : `${base}?item=${item}`;
  }

  /** Opens a stage at its mark (the master by the playlist's EXT-X-START, the others at the mark's capture time). */
  async openStage(item: number, markMs: number, autoplay = true): Promise<void> {
    this.item = item;
    await this.openAll(item, markMs, autoplay);
  }

  /** Opens the whole recording at a capture instant. */
  async openAt(atMs: number | null, autoplay = true): Promise<void> {
    this.item = null;
    await this.openAll(null, atMs, autoplay);
  }

  private async openAll(item: number | null, atMs: number | null, autoplay: boolean): Promise<void> {
    this.gap = null;
    this.last = null;
    const master = this.masterPlayer();
    for (const p of this.players.values()) p.video.pause();
    await Promise.all(
      [...this.players.values()].map((p) => p.load(this.url(p.cameraId, item), atMs, item !== null && p === master)),
    );
    if (!master) return;
    for (const p of this.players.values()) p.video.playbackRate = this.rate;
    master.video.muted = false;
    if (autoplay) {
      await master.video.play().catch(async () => {
        // No user activation for sound: play muted rather than not at all.
        master.video.muted = true;
        await master.video.play().catch(() => undefined);
      });
    }
  }

  setMaster(cameraId: string): void {
    const previous = this.masterPlayer();
    const next = this.players.get(cameraId);
    if (!next || next === previous) return;
    const wasPlaying = previous ? !previous.video.paused : false;
    const muted = previous?.video.muted ?? false;
    if (previous) previous.video.muted = true;
    next.video.muted = muted;
    this.master = cameraId;
    this.last = null;
    if (wasPlaying) void next.video.play().catch(() => undefined);
  }

  togglePlay(): void {
    const m = this.masterPlayer();
    if (!m) return;
    if (m.video.paused) void m.video.play().catch(() => undefined);
    else m.video.pause();
  }

  setRate(rate: number): void {
    this.rate = rate;
    for (const p of this.players.values()) p.video.playbackRate = rate;
  }

  /** One frame forward or back, paused. */
  step(frames: number): void {
    const m = this.masterPlayer();
    if (!m) return;
    m.video.pause();
    m.video.currentTime = Math.max(0, m.video.currentTime + frames * FRAME_S);
  }

  private masterPlayer(): CameraPlayer | undefined {
    return this.master === null ? undefined : this.players.get(this.master);
  }

  /** Reads the master's time and brings every follower to the same capture instant. */
  private tick(): void {
    for (const p of this.players.values()) {
      const s = this.states[p.cameraId];
      if (!s || s.ready !== p.ready || s.failed !== p.failed || s.inGap !== p.inGap) this.states[p.cameraId] = { ready: p.ready, failed: p.failed, inGap: p.inGap };
    }
    const m = this.masterPlayer();
    if (!m) return;
    this.paused = m.video.paused;
    const position = m.video.currentTime;
    const wall = m.wallMs();
    this.wallMs = wall;
    if (wall === null) return;
    // A jump in capture time beyond the media time played: a gap crossed (discontinuity).
    if (this.last && !m.video.paused) {
      const played = (position - this.last.position) * 1000;
      const advanced = wall - this.last.wallMs;
      if (played >= 0 && advanced - played > 1000) this.gap = { fromMs: this.last.wallMs + played, toMs: wall };
    }
    this.last = { wallMs: wall, position };
    for (const f of this.players.values()) {
      if (f === m || f.frags.length === 0) continue;
      const target = positionOf(f.frags, wall);
      if (!target) continue;
      f.inGap = target.inGap;
      if (target.inGap) {
        if (!f.video.paused) f.video.pause();
        continue;
      }
      if (f.video.playbackRate !== m.video.playbackRate) f.video.playbackRate = m.video.playbackRate;
      const drift = Math.abs(f.video.currentTime - target.position);
      if (drift > (m.video.paused ? FRAME_S / 2 : DRIFT_S) && !f.video.seeking) f.video.currentTime = target.position;
      if (m.video.paused && !f.video.paused) f.video.pause();
      if (!m.video.paused && f.video.paused) void f.video.play().catch(() => undefined);
    }
  }

  destroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.players.values()) p.destroy();
    this.players.clear();
  }
}
