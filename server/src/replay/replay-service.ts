import { open, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { CustodyLog } from '../custody/custody-log.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import type { Caller, SessionService } from '../sessions/session-service.ts';
import type { Clock } from '../shared/clock.ts';
import { ApiError, notFound } from '../shared/errors.ts';
import type { DestroyedEvidence } from '../retention/retention.types.ts';
import { buildPlaylist, type PlaylistSegment } from './playlist.ts';

export interface ReplayDependencies {
  dataDir: string;
  sessions: SessionService;
  segments: SegmentRepository;
  custody: CustodyLog;
  clock: Clock;
  /** Sessions whose media was destroyed past retention: answered 409 `destroyed`, not as missing files. */
  destroyed?: DestroyedEvidence;
}

/** A playlist fetched again by the same user within this time is the same replay (hls.js reloads an EVENT playlist). */
const SAME_REPLAY_MS = 60_000;

const CAMERA = { en: 'The camera recording', zh: '该摄像机的录像' };
const SEGMENT = { en: 'The segment', zh: '该片段' };

/**
 * Replay of recorded sessions as HLS: playlists built from the segment index, segments found by
 * (session, camera, seq) in the index and read from the path the index holds, under DATA_DIR only.
 * Access is checked on every request with the session's own rule; each playlist opened is one row
 * of the custody log.
 */
export class ReplayService {
  private readonly recent = new Map<string, number>();

  constructor(private readonly deps: ReplayDependencies) {}

  /** The playlist of one camera, whole or for one stage (`item`), logged to the custody log. */
  playlist(caller: Caller, sessionId: string, cameraId: string, item: number | undefined, segmentUri: (seq: number) => string): string {
    const view = this.deps.sessions.view(caller, sessionId); // 404 / 403 as for reading the session
    this.deps.destroyed?.assertNotDestroyed(sessionId);
    if (!this.deps.segments.hasCamera(sessionId, cameraId)) throw notFound(CAMERA);
    let list: PlaylistSegment[];
    let startAtMs: number | undefined;
    if (item === undefined) list = this.cameraSegments(sessionId, cameraId);
    else {
      const stages = this.deps.sessions.stages(sessionId).filter((s) => s.item === item);
      if (stages.length === 0) {
        throw new ApiError(404, 'unknown_stage', { en: `The session has no stage ${item}.`, zh: `该会话没有第 ${item} 项的阶段。` });
      }
      // Only the rows around the stage are read (a stage of a long session is a small part of it).
      const range = { fromMs: Math.min(...stages.map((st) => st.fromMs)), toMs: Math.max(...stages.map((st) => st.toMs ?? Infinity)) };
      list = this.cameraSegments(sessionId, cameraId, range).filter((s) => stages.some((st) => s.startedAtMs < (st.toMs ?? Infinity) && s.endedAtMs > st.fromMs));
      if (list.length === 0) {
        throw new ApiError(404, 'no_recording', { en: `Camera ${cameraId} recorded nothing during stage ${item}.`, zh: `摄像机 ${cameraId} 在第 ${item} 项阶段没有录像。` });
      }
      startAtMs = stages[0]!.fromMs;
    }
    const breaks = view.interruptions
      .filter((i) => i.cameraId === null || i.cameraId === cameraId)
      .map((i) => ({ fromMs: Date.parse(i.startedAt), toMs: i.endedAt ? Date.parse(i.endedAt) : null }));
    const ended = view.state === 'ended' || view.state === 'sealed';
    const text = buildPlaylist(list, { uri: segmentUri, startAtMs, ended, breaks });
    this.logReplay(caller, view.roomId, sessionId, cameraId, item, list, startAtMs);
    return text;
  }

  /** The file of one indexed segment: its absolute path (inside DATA_DIR) and size. */
  async segmentFile(caller: Caller, sessionId: string, cameraId: string, seq: number): Promise<{ path: string; size: number; sha256: string }> {
    this.deps.sessions.view(caller, sessionId);
    this.deps.destroyed?.assertNotDestroyed(sessionId);
    const row = this.deps.segments.get(sessionId, cameraId, seq);
    if (!row) throw notFound(SEGMENT);
    const root = resolve(this.deps.dataDir);
    const path = resolve(root, row.file);
    const rel = relative(root, path);
    if (rel.startsWith('..') || isAbsolute(rel)) throw notFound(SEGMENT);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw notFound(SEGMENT);
    return { path, size: info.size, sha256: row.sha256 };
  }

  /** Opens a segment for reading a byte range [start, end] inclusive. */
  openRange(path: string, start: number, end: number) {
    return open(path, 'r').then((handle) => handle.createReadStream({ start, end, autoClose: true }));
  }

  private cameraSegments(sessionId: string, cameraId: string, range?: { fromMs: number; toMs: number }): PlaylistSegment[] {
    const rows = this.deps.segments.listCamera(sessionId, cameraId, range);
    return rows.map((row) => ({ seq: row.seq, startedAtMs: Date.parse(row.startedAt), endedAtMs: Date.parse(row.endedAt), durationMs: row.durationMs }));
  }

  private logReplay(caller: Caller, roomId: string | null, sessionId: string, cameraId: string, item: number | undefined, list: PlaylistSegment[], startAtMs: number | undefined): void {
    const now = this.deps.clock.now().getTime();
    for (const [k, at] of this.recent) if (now - at > SAME_REPLAY_MS) this.recent.delete(k);
    const key = `${caller.user.username}\u0000${sessionId}\u0000${cameraId}\u0000${item ?? ''}`;
    const seen = this.recent.get(key);
    this.recent.set(key, now);
    if (seen !== undefined) return;
    const from = new Date(startAtMs ?? list[0]!.startedAtMs).toISOString();
    const to = new Date(list.at(-1)!.endedAtMs).toISOString();
    const id = this.deps.custody.open({
      sessionId,
      roomId,
      cameraId,
      username: caller.user.username,
      action: 'replay',
      detail: { item: item ?? null, from, to, segments: list.length, ip: caller.ip },
    });
    // An HTTP playlist has no end we could see: the row records the opening, closed at once.
    this.deps.custody.close(id);
  }
}
