import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ffprobeBinary, rtspTimeoutArgs } from '../shared/ffmpeg/ffmpeg-binary.ts';
import { FfmpegExitError, runFfmpeg } from '../shared/ffmpeg/ffmpeg-process.ts';
import type { Logger } from '../shared/logger.ts';
import type { CameraCredentials } from './camera-probe.types.ts';
import { CameraProbeError } from './rtsp-describe.types.ts';

export interface PulledStream {
  video: { codec: string; width: number; height: number; fps: number | null } | null;
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
}

/**
 * Pulls a stream for real with ffprobe over RTSP/TCP, as the recorder's ffmpeg will: proves that
 * media arrives and decodes, not only that the camera answers DESCRIBE. Host names are resolved here
 * because the bundled ffmpeg build crashes resolving them itself.
 */
export async function pullStream(
  url: string,
  credentials: CameraCredentials | null,
  options: { timeoutMs: number; log: Logger },
): Promise<PulledStream> {
  const target = new URL(url);
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  if (!isIP(hostname)) {
    try {
      target.hostname = (await lookup(hostname)).address;
    } catch {
      throw new CameraProbeError('unreachable', `cannot resolve the host name ${hostname}`);
    }
  }
  if (credentials) {
    target.username = encodeURIComponent(credentials.username);
    target.password = encodeURIComponent(credentials.password);
  }
  const binary = ffprobeBinary();
  let stdout: Buffer;
  try {
    ({ stdout } = await runFfmpeg({
      binary: 'ffprobe',
      name: 'stream-check',
      log: options.log,
      timeoutMs: options.timeoutMs,
      args: [
        '-v', 'error',
        '-rtsp_transport', 'tcp',
        ...rtspTimeoutArgs(options.timeoutMs * 1000, binary),
        '-analyzeduration', '2000000',
        '-probesize', '2000000',
        '-show_entries', 'stream=codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate,sample_rate,channels',
        '-of', 'json',
        target.toString(),
      ],
    }));
  } catch (err) {
    if (!(err instanceof FfmpegExitError)) throw err;
    const detail = err.stderrTail.join(' ');
    if (/401|Unauthorized/i.test(detail)) throw new CameraProbeError('unauthorized', 'the camera refused the user name or password');
    if (err.signal || err.code === null) throw new CameraProbeError('timeout', `no media within ${options.timeoutMs} ms`);
    throw new CameraProbeError('protocol', `ffprobe could not read the stream: ${err.stderrTail.at(-1) ?? `exit ${err.code}`}`);
  }
  const streams = ((JSON.parse(stdout.toString('utf8')) as { streams?: FfprobeStream[] }).streams ?? []);
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    video: video
      ? { codec: (video.codec_name ?? '').toUpperCase(), width: video.width ?? 0, height: video.height ?? 0, fps: frameRate(video.avg_frame_rate) ?? frameRate(video.r_frame_rate) }
      : null,
    audio: audio ? { codec: (audio.codec_name ?? '').toUpperCase(), sampleRate: Number(audio.sample_rate ?? 0), channels: audio.channels ?? 0 } : null,
  };
}

function frameRate(ratio: string | undefined): number | null {
  const [n, d] = (ratio ?? '').split('/').map(Number);
  return n && d ? Math.round((n / d) * 100) / 100 : null;
}
