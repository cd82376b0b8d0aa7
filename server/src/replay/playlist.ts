/**
 * HLS VOD playlists built from the segment index (never from the files on disk or a client's path).
 * Pure functions over epoch milliseconds so the test can reason about offsets exactly.
 */

export interface PlaylistSegment {
  seq: number;
  startedAtMs: number;
  endedAtMs: number;
  /** The segment's media duration (its last frame's end minus its first frame's start). */
  durationMs: number;
}

/** An interruption or recess of the camera's recording: the timeline breaks there. */
export interface TimelineBreak {
  fromMs: number;
  /** null while it lasts. */
  toMs: number | null;
}

export interface PlaylistOptions {
  /** Opaque URI of a segment, resolved by the server from the index. */
  uri: (seq: number) => string;
  /** Seek target (epoch ms) for `EXT-X-START`: a stage's mark. */
  startAtMs?: number | undefined;
  /** A finished recording is VOD with an end; one still recording is an EVENT playlist that grows. */
  ended: boolean;
  breaks?: readonly TimelineBreak[] | undefined;
}

/** Two segments that do not meet within this many ms have a gap between them (under one frame at 25 fps). */
export const GAP_TOLERANCE_MS = 40;

/**
 * Which segments start a new timeline: a jump in the sequence, a gap in capture time, and the joins
 * an interruption covers (where the recording ran on through one, the first join after its start).
 * Gaps are never papered over.
 */
export function discontinuities(segments: readonly PlaylistSegment[], breaks: readonly TimelineBreak[] = []): Set<number> {
  const marked = new Set<number>();
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1]!;
    const next = segments[i]!;
    if (next.seq !== prev.seq + 1 || Math.abs(next.startedAtMs - prev.endedAtMs) > GAP_TOLERANCE_MS) marked.add(i);
  }
  for (const b of breaks) {
    const to = b.toMs ?? Infinity;
    let covered = false;
    for (let i = 1; i < segments.length; i++) {
      const joinFrom = segments[i - 1]!.endedAtMs - GAP_TOLERANCE_MS;
      const joinTo = segments[i]!.startedAtMs + GAP_TOLERANCE_MS;
      if (joinFrom <= to && joinTo >= b.fromMs) {
        marked.add(i);
        covered = true;
      }
    }
    if (!covered) {
      const i = segments.findIndex((s) => s.startedAtMs >= b.fromMs - GAP_TOLERANCE_MS);
      if (i > 0) marked.add(i);
    }
  }
  return marked;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** The playlist text. `segments` in recording order (one camera). */
export function buildPlaylist(segments: readonly PlaylistSegment[], options: PlaylistOptions): string {
  const maxS = segments.reduce((m, s) => Math.max(m, s.durationMs / 1000), 1);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${Math.ceil(maxS)}`, '#EXT-X-MEDIA-SEQUENCE:0'];
  lines.push(`#EXT-X-PLAYLIST-TYPE:${options.ended ? 'VOD' : 'EVENT'}`);
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  const first = segments[0];
  if (options.startAtMs !== undefined && first) {
    lines.push(`#EXT-X-START:TIME-OFFSET=${seconds(startOffsetMs(segments, options.startAtMs))},PRECISE=YES`);
  }
  const breaks = discontinuities(segments, options.breaks);
  segments.forEach((s, i) => {
    if (breaks.has(i)) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startedAtMs).toISOString()}`);
    lines.push(`#EXTINF:${seconds(s.durationMs)},`);
    lines.push(options.uri(s.seq));
  });
  if (options.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/**
 * Where an instant falls on the playlist's own timeline (the sum of EXTINF before it), in ms: the
 * offset into the segment that holds it, plus the durations of the listed segments before that one.
 * An instant in a gap or before the first segment starts at the next segment's start.
 */
export function startOffsetMs(segments: readonly PlaylistSegment[], atMs: number): number {
  let before = 0;
  for (const s of segments) {
    if (atMs < s.startedAtMs) return before;
    if (atMs < s.endedAtMs) return before + Math.min(atMs - s.startedAtMs, s.durationMs);
    before += s.durationMs;
  }
  return Math.max(0, before - 1);
}
