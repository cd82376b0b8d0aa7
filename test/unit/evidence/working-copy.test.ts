import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutWorkingCopy } from '../../../server/src/evidence/evidence-worker.ts';

// Real ffmpeg: one 12 s MPEG-TS stream (25 fps, GOP 1 s) cut into 1 s segments as the ingest writes
// them (timestamps running on across segments), and a second stream whose timestamps start again
// (a reconnect).
let dir: string;
let segments: string[];
let restarted: string[];

/** Video frames in a file (25 per second of media that is there). */
const frames = (file: string) =>
  Number(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { encoding: 'utf8' }));
const duration = (file: string) => Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' }));

function segmented(name: string, seconds: number): string[] {
  const out = join(dir, name);
  execFileSync('mkdir', ['-p', out]);
  execFileSync('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=f=440:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac',
    '-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', '-reset_timestamps', '0', join(out, '%03d.ts'),
  ]);
  return readdirSync(out).sort().map((f) => join(out, f));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hr-working-copy-'));
  segments = segmented('a', 12);
  restarted = segmented('b', 4);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cut = (sources: string[], durationS: number) =>
  cutWorkingCopy({ workDir: dir, workingCopies: [{ name: 'working/cam/stage-1.mp4', sources, untilFirstEndS: duration(sources[0]!), durationS }] }, 0);

describe('working copies (segments piped into one ffmpeg)', () => {
  it('joins contiguous segments into one copy of their whole length', async () => {
    const copy = await cut(segments.slice(2, 8), 6);
    expect(duration(copy)).toBeCloseTo(6, 1);
    expect(frames(copy)).toBe(150);
  });

  it('closes the gap where segments are missing (an interruption): the copy is that much shorter', async () => {
    // Segments 2–4, then 8–10: 3 s missing from the media.
    const copy = await cut([...segments.slice(2, 5), ...segments.slice(8, 11)], 6);
    expect(duration(copy)).toBeCloseTo(6, 1);
    expect(frames(copy)).toBe(150); // all six seconds there are, none cut off by a 3 s hole
  });

  it('follows on where a reconnect started the timestamps again', async () => {
    const copy = await cut([...segments.slice(5, 8), ...restarted.slice(0, 3)], 6);
    expect(duration(copy)).toBeCloseTo(6, 1);
    expect(frames(copy)).toBe(150);
  });
});
