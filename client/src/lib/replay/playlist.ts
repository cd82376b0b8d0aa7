// The replay playlists the server builds (docs/api.md, Replay): each fragment's place on the
// player's timeline and its capture time, so a frame's wall-clock time and a wall-clock instant's
// position can be computed both ways, for hls.js and for native HLS alike.

export interface FragTime {
  /** Seconds on the player's timeline. */
  start: number;
  duration: number;
  /** Capture time of the fragment's first frame, epoch ms (EXT-X-PROGRAM-DATE-TIME). */
  pdtMs: number;
  discontinuity: boolean;
}

export interface ParsedPlaylist {
  frags: FragTime[];
  /** EXT-X-START TIME-OFFSET, seconds. */
  startOffset: number | null;
}

export function parsePlaylist(text: string): ParsedPlaylist {
  const frags: FragTime[] = [];
  let startOffset: number | null = null;
  let pdtMs: number | null = null;
  let duration = 0;
  let discontinuity = false;
  let position = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#EXT-X-START:')) {
      const m = /TIME-OFFSET=(-?[\d.]+)/.exec(line);
      if (m) startOffset = Number(m[1]);
    } else if (line === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdtMs = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) duration = Number(line.slice(8).split(',')[0]);
    else if (!line.startsWith('#')) {
      if (pdtMs !== null && Number.isFinite(pdtMs)) frags.push({ start: position, duration, pdtMs, discontinuity });
      position += duration;
      pdtMs = null;
      discontinuity = false;
    }
  }
  return { frags, startOffset };
}

/** The capture time (epoch ms) of a position on the timeline, or null outside the fragments. */
export function wallAt(frags: readonly FragTime[], position: number): number | null {
  for (let i = 0; i < frags.length; i++) {
    const f = frags[i]!;
    const last = i === frags.length - 1;
    if (position >= f.start - 0.001 && (position < f.start + f.duration || last)) {
      return f.pdtMs + Math.max(0, Math.min(position - f.start, f.duration)) * 1000;
    }
  }
  return null;
}

/**
 * The position that shows a capture instant. `inGap` when no fragment holds it (a gap, before the
 * first or after the last): the position is then where recording resumes.
 */
export function positionOf(frags: readonly FragTime[], wallMs: number): { position: number; inGap: boolean } | null {
  if (frags.length === 0) return null;
  for (const f of frags) {
    if (wallMs < f.pdtMs) return { position: f.start, inGap: true };
    if (wallMs < f.pdtMs + f.duration * 1000) return { position: f.start + (wallMs - f.pdtMs) / 1000, inGap: false };
  }
  const last = frags.at(-1)!;
  return { position: last.start + last.duration, inGap: true };
}
