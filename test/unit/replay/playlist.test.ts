import { describe, expect, it } from 'vitest';
import { buildPlaylist, discontinuities, startOffsetMs, type PlaylistSegment } from '../../../server/src/replay/playlist.ts';

const T = Date.parse('2026-12-04T02:00:00.000Z');
const seg = (seq: number, startS: number, durS: number): PlaylistSegment => ({ seq, startedAtMs: T + startS * 1000, endedAtMs: T + (startS + durS) * 1000, durationMs: durS * 1000 });
const uri = (seq: number) => `segments/${String(seq).padStart(6, '0')}.ts`;

describe('replay playlists', () => {
  it('marks a discontinuity at a gap, a jump in sequence and an interruption, never between adjacent segments', () => {
    const list = [seg(1, 0, 2), seg(2, 2, 2), seg(3, 10, 2), seg(5, 12, 2), seg(6, 14, 2), seg(7, 16, 2)];
    expect([...discontinuities(list)].sort()).toEqual([2, 3]);
    // An interruption over a gap adds nothing; one the recording ran on through breaks at the first join after its start.
    expect([...discontinuities(list, [{ fromMs: T + 4_100, toMs: T + 10_100 }])].sort()).toEqual([2, 3]);
    expect([...discontinuities(list, [{ fromMs: T + 14_500, toMs: T + 15_000 }])].sort()).toEqual([2, 3, 5]);
    expect([...discontinuities(list, [{ fromMs: T + 13_000, toMs: T + 14_000 }])].sort()).toEqual([2, 3, 4]);
    expect([...discontinuities(list, [{ fromMs: T + 16_500, toMs: null }])].sort()).toEqual([2, 3]);
  });

  it('writes VOD with program-date-times, media durations and a precise start for a stage', () => {
    const list = [seg(4, 0, 2.04), seg(5, 2.04, 1.96), seg(6, 30, 2)];
    const text = buildPlaylist(list, { uri, ended: true, startAtMs: T + 2_500 });
    expect(text.split('\n')).toEqual([
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      '#EXT-X-TARGETDURATION:3',
      '#EXT-X-MEDIA-SEQUENCE:0',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-START:TIME-OFFSET=2.500,PRECISE=YES',
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-04T02:00:00.000Z',
      '#EXTINF:2.040,',
      'segments/000004.ts',
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-04T02:00:02.040Z',
      '#EXTINF:1.960,',
      'segments/000005.ts',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-PROGRAM-DATE-TIME:2026-12-04T02:00:30.000Z',
      '#EXTINF:2.000,',
      'segments/000006.ts',
      '#EXT-X-ENDLIST',
      '',
    ]);
    expect(buildPlaylist(list, { uri, ended: false })).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(buildPlaylist(list, { uri, ended: false })).not.toContain('ENDLIST');
  });

  it('places a start on the playlist timeline: across a gap, and in a gap at the next segment', () => {
    const list = [seg(1, 0, 2), seg(2, 2, 2), seg(3, 10, 2)];
    expect(startOffsetMs(list, T + 1_234)).toBe(1_234);
    expect(startOffsetMs(list, T + 10_500)).toBe(4_500);
    expect(startOffsetMs(list, T + 6_000)).toBe(4_000);
    expect(startOffsetMs(list, T - 1_000)).toBe(0);
  });
});
