// How probe facts read in the admin's camera list.
import type { CameraProbeView } from './types.ts';

/** Beyond this, a camera's clock is worth correcting (evidence timestamps). */
export const CLOCK_WARN_MS = 2000;

export function formatVideo(v: CameraProbeView['video']): string {
  const parts = [v.codec.toUpperCase()];
  if (v.width && v.height) parts.push(`${v.width}×${v.height}`);
  if (v.fps) parts.push(`${Math.round(v.fps * 100) / 100} fps`);
  return parts.join(' · ');
}

/** RTP encoding names people do not read as codecs. */
const AUDIO_NAMES: Record<string, string> = {
  'MPEG4-GENERIC': 'AAC',
  'MP4A-LATM': 'AAC',
  PCMA: 'G.711 A-law',
  PCMU: 'G.711 μ-law',
};

export function formatAudio(a: NonNullable<CameraProbeView['audio']>): string {
  const codec = a.codec.toUpperCase();
  const name = AUDIO_NAMES[codec] ?? codec;
  const rate = a.sampleRate >= 1000 ? `${Math.round(a.sampleRate / 100) / 10} kHz` : `${a.sampleRate} Hz`;
  return `${name} · ${rate}`;
}

/** Camera clock minus server clock: `+120 ms`, `-3.4 s`. */
export function formatOffset(ms: number): string {
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : '±';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 100_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  return `${sign}${Math.round(abs / 1000)} s`;
}

export function clockWarning(ms: number | null): boolean {
  return ms !== null && Math.abs(ms) > CLOCK_WARN_MS;
}
