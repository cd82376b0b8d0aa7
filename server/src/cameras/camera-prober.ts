import { CameraProbeError, describeRtsp, type RtspDescription } from './rtsp-describe.ts';
import type { CameraCredentials, CameraProbe } from './camera-probe.types.ts';
import { OnvifClient, OnvifError } from './onvif-client.ts';
import type { CameraSource } from '../rooms/room-repository.ts';

export const RECORDABLE_VIDEO = ['H264', 'H265', 'HEVC'];

/**
 * A full probe of one camera: for ONVIF the device, its profiles, stream and snapshot URIs and clock
 * offset; for every camera a DESCRIBE of the main stream to learn its codecs and prove the
 * credentials. Throws CameraProbeError whose kind maps to the camera's state.
 */
export async function probeCamera(
  source: CameraSource,
  credentials: CameraCredentials | null,
  timeoutMs: number,
  now: () => Date = () => new Date(),
): Promise<CameraProbe> {
  let device: CameraProbe['device'] = null;
  let mainUrl: string;
  let subUrl: string | null = null;
  let snapshotUrl: string | null = null;
  let clockOffsetMs: number | null = null;
  let onvifVideo: { width: number | null; height: number | null; fps: number | null } | null = null;

  if (source.kind === 'onvif') {
    if (!credentials) throw new CameraProbeError('unauthorized', 'an ONVIF camera needs a user name and password');
    try {
      const client = await OnvifClient.connect({ url: source.url, ...credentials, timeoutMs });
      const clock = await client.systemDateAndTime();
      clockOffsetMs = clock.offsetMs;
      device = await client.deviceInformation();
      const profiles = (await client.profiles()).filter((p) => p.video !== null);
      if (profiles.length === 0) throw new CameraProbeError('protocol', 'the camera reports no video profile');
      const byPixels = [...profiles].sort((a, b) => pixels(b.video) - pixels(a.video));
      const main = byPixels[0]!;
      const sub = byPixels.length > 1 ? byPixels.at(-1)! : null;
      mainUrl = stripCredentials(await client.streamUri(main.token));
      subUrl = sub ? stripCredentials(await client.streamUri(sub.token)) : null;
      snapshotUrl = await client.snapshotUri(main.token).catch(() => null);
      onvifVideo = { width: main.video?.width ?? null, height: main.video?.height ?? null, fps: main.video?.framerate ?? null };
    } catch (err) {
      if (err instanceof OnvifError) throw new CameraProbeError(err.kind, `ONVIF: ${err.message}`);
      throw err;
    }
  } else {
    mainUrl = source.mainUrl;
    subUrl = source.subUrl ?? null;
  }

  const description = await describeRtsp(mainUrl, credentials, timeoutMs);
  const video = description.media.find((m) => m.type === 'video');
  if (!video) throw new CameraProbeError('protocol', 'the main stream carries no video');
  const audio = description.media.find((m) => m.type === 'audio' && m.codec);
  return {
    at: now().toISOString(),
    kind: source.kind,
    device,
    mainUrl,
    subUrl,
    snapshotUrl,
    video: { codec: video.codec, width: onvifVideo?.width ?? null, height: onvifVideo?.height ?? null, fps: onvifVideo?.fps ?? null },
    audio: audio ? { codec: audio.codec, sampleRate: audio.clockRate } : null,
    clockOffsetMs,
    liveCodecWarning: video.codec === 'H265' || video.codec === 'HEVC',
  };
}

/** A cheap check of a camera already probed: one DESCRIBE of its main stream. */
export function checkStream(probe: CameraProbe, credentials: CameraCredentials | null, timeoutMs: number): Promise<RtspDescription> {
  return describeRtsp(probe.mainUrl, credentials, timeoutMs);
}

export function isRecordable(probe: CameraProbe): boolean {
  return RECORDABLE_VIDEO.includes(probe.video.codec);
}

function pixels(video: { width: number; height: number } | null): number {
  return video ? video.width * video.height : 0;
}

/** Cameras often put credentials into the URIs they return; the server keeps them apart. */
function stripCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}
