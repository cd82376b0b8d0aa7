import { open } from 'node:fs/promises';
import { runFfmpeg } from '../shared/ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../shared/logger.ts';
import type { ImportProbe } from './import.types.ts';

/** What an uploaded file turned out to be. */
export type ProbeVerdict =
  | { kind: 'not-video'; reason: string }
  | { kind: 'video'; ext: string; probe: ImportProbe | null; creationTime: string | null; damage: string | null };

interface FfprobeJson {
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number }[];
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
}

/** Demuxed media may end this much before the declared duration (last frame, rounding). */
const END_TOLERANCE_S = 0.5;

/**
 * Container signatures of the video files body cameras write. A file that starts like one but that
 * ffprobe cannot open (an MP4 whose index was never written because the battery died) is a damaged
 * video, kept; anything else ffprobe cannot open is not a video.
 */
function sniffContainer(head: Buffer): string | null {
  if (head.length >= 12 && head.toString('latin1', 4, 8) === 'ftyp') return head.toString('latin1', 8, 10) === 'qt' ? 'mov' : 'mp4';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'AVI ') return 'avi';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return 'mkv';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'FLV') return 'flv';
  if (head.length >= 377 && head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return 'ts';
  return null;
}

/** The stored file's extension, from what ffprobe read (never from the uploader's file name). */
function extensionOf(formatName: string, sniffed: string | null): string {
  if (sniffed === 'mov' || sniffed === 'mp4') return sniffed;
  const names = formatName.split(',');
  if (names.includes('mpegts')) return 'ts';
  if (names.includes('matroska')) return 'mkv';
  if (names.includes('avi')) return 'avi';
  if (names.includes('flv')) return 'flv';
  if (names.includes('mp4') || names.includes('mov')) return 'mp4';
  return 'bin';
}

const finite = (v: string | undefined): number | null => {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) ? n : null;
};

/** The creation_time tag as an ISO instant with milliseconds, or null when absent or unreadable. */
function creationTimeOf(tags: Record<string, string> | undefined): string | null {
  const raw = tags?.creation_time;
  if (!raw) return null;
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * Probes an uploaded file with ffprobe, then demuxes its video to the end (stream copy, no decode)
 * to find a file that stops before its declared duration or reads with errors.
 */
export async function probeUpload(file: string, log: Logger): Promise<ProbeVerdict> {
  const handle = await open(file, 'r');
  const head = Buffer.alloc(512);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const sniffed = sniffContainer(head.subarray(0, bytesRead));
  let json: FfprobeJson;
  try {
    const { stdout } = await runFfmpeg({
      binary: 'ffprobe',
      args: ['-v', 'error', '-show_entries', 'format=format_name,duration:format_tags=creation_time:stream=codec_type,codec_name,width,height', '-of', 'json', file],
      log,
      name: 'import-probe',
      timeoutMs: 60_000,
    });
    json = JSON.parse(stdout.toString('utf8')) as FfprobeJson;
  } catch (err) {
    if (!sniffed) return { kind: 'not-video', reason: 'not a media file ffprobe can read' };
    return { kind: 'video', ext: sniffed, probe: null, creationTime: null, damage: `unreadable ${sniffed} container (${(err as Error).message.slice(0, 200)})` };
  }
  const video = json.streams?.find((s) => s.codec_type === 'video');
  if (!video) return { kind: 'not-video', reason: json.streams?.length ? 'the file has no video stream' : 'not a media file ffprobe can read' };
  const probe: ImportProbe = {
    format: json.format?.format_name ?? null,
    durationS: finite(json.format?.duration),
    video: { codec: video.codec_name ?? null, width: video.width ?? null, height: video.height ?? null },
    audio: json.streams?.some((s) => s.codec_type === 'audio') ?? false,
  };
  const ext = extensionOf(probe.format ?? '', sniffed);
  const creationTime = creationTimeOf(json.format?.tags);
  if (probe.durationS === null) return { kind: 'video', ext, probe, creationTime, damage: 'the duration cannot be read' };
  let demuxedS = 0;
  let errors: string[] = [];
  try {
    const { stdout, stderr } = await runFfmpeg({
      args: ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-', '-progress', 'pipe:1', '-nostats'],
      log,
      name: 'import-demux',
      timeoutMs: 10 * 60_000,
    });
    for (const m of stdout.toString('utf8').matchAll(/^out_time_us=(\d+)$/gm)) demuxedS = Math.max(demuxedS, Number(m[1]) / 1e6);
    errors = stderr.filter((line) => line.trim() !== '');
  } catch (err) {
    return { kind: 'video', ext, probe, creationTime, damage: `the video cannot be read to its end (${(err as Error).message.slice(0, 200)})` };
  }
  if (errors.length > 0) return { kind: 'video', ext, probe, creationTime, damage: `reading the video reports errors: ${errors.slice(0, 3).join(' | ').slice(0, 300)}` };
  if (demuxedS < probe.durationS - END_TOLERANCE_S) {
    return { kind: 'video', ext, probe, creationTime, damage: `the video stops at ${demuxedS.toFixed(2)} s of the ${probe.durationS.toFixed(2)} s it declares` };
  }
  return { kind: 'video', ext, probe, creationTime, damage: null };
}
