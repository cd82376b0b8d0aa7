import type { Logger } from '../../shared/logger.ts';
import { runFfmpeg } from '../../shared/ffmpeg/ffmpeg-process.ts';

/** ADTS stream → raw AAC frames and the AudioSpecificConfig of the first header. */
export function parseAdts(buf: Buffer): { frames: Buffer[]; config: Buffer; sampleRate: number; channels: number } {
  const frames: Buffer[] = [];
  let config: Buffer | null = null;
  let sampleRate = 0;
  let channels = 0;
  for (let p = 0; p + 7 <= buf.length; ) {
    if (buf[p] !== 0xff || (buf[p + 1]! & 0xf6) !== 0xf0) throw new Error(`ADTS sync lost at byte ${p}`);
    const protectionAbsent = buf[p + 1]! & 1;
    const profile = (buf[p + 2]! >> 6) + 1; // audio object type
    const freqIndex = (buf[p + 2]! >> 2) & 0x0f;
    const chan = ((buf[p + 2]! & 1) << 2) | (buf[p + 3]! >> 6);
    const length = ((buf[p + 3]! & 3) << 11) | (buf[p + 4]! << 3) | (buf[p + 5]! >> 5);
    const header = protectionAbsent ? 7 : 9;
    if (length < header || p + length > buf.length) break;
    if (!config) {
      config = Buffer.from([(profile << 3) | (freqIndex >> 1), ((freqIndex & 1) << 7) | (chan << 3)]);
      sampleRate = ADTS_RATES[freqIndex] ?? 0;
      channels = chan;
    }
    frames.push(Buffer.from(buf.subarray(p + header, p + length)));
    p += length;
  }
  if (!config) throw new Error('no ADTS frame');
  return { frames, config, sampleRate, channels };
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface PreparedAac {
  /** A seamless loop of tone frames (1024 samples each). */
  tone: Buffer[];
  /** One frame of digital silence, repeated as needed. */
  silent: Buffer;
  config: Buffer;
  sampleRate: number;
}

/**
 * Pre-encodes a 1 kHz tone and silence as AAC-LC 48 kHz mono once, so streaming audio costs no
 * encoder at all. The loop is cut from the encoder's steady state on a 3-frame boundary: 3 × 1024
 * samples hold exactly 64 periods of 1 kHz at 48 kHz, so the seam is inaudible and invisible.
 */
export async function prepareAac(log: Logger): Promise<PreparedAac> {
  const encode = (source: string, seconds: number) =>
    runFfmpeg({
      log,
      name: 'aac-prepare',
      timeoutMs: 20_000,
      args: ['-hide_banner', '-nostats', '-loglevel', 'error', '-f', 'lavfi', '-i', source, '-t', String(seconds),
        '-c:a', 'aac', '-b:a', '64k', '-ac', '1', '-ar', '48000', '-f', 'adts', 'pipe:1'],
    });
  const [tone, silence] = await Promise.all([
    encode('sine=frequency=1000:sample_rate=48000', 3),
    // anullsrc has no duration option in the bundled 2018 ffmpeg: -t bounds it.
    encode('anullsrc=r=48000:cl=mono', 1),
  ]);
  const t = parseAdts(tone.stdout);
  const s = parseAdts(silence.stdout);
  const first = 24;
  const loop = t.frames.slice(first, first + 48);
  const silent = s.frames[Math.min(s.frames.length - 1, 20)];
  if (loop.length !== 48 || !silent) throw new Error('AAC pre-encode produced too few frames');
  return { tone: loop, silent, config: t.config, sampleRate: t.sampleRate };
}

/** ITU-T G.711 A-law encoding of one 16-bit linear sample. */
export function linearToAlaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = pcm >= 0 ? 0x80 : 0;
  if (pcm < 0) pcm = -pcm - 1;
  pcm >>= 3; // 13-bit magnitude
  let exponent = 0;
  let mantissa: number;
  if (pcm >= 32) {
    let v = pcm >> 5;
    exponent = 1;
    while (v > 1 && exponent < 7) {
      v >>= 1;
      exponent++;
    }
    mantissa = (pcm >> exponent) & 0x0f;
  } else mantissa = pcm >> 1;
  return ((sign | (exponent << 4) | mantissa) ^ 0x55) & 0xff;
}

export const PCMA_SAMPLES_PER_FRAME = 160; // 20 ms at 8 kHz

/** 20 ms of 1 kHz tone (8 samples per period, so every block is identical) and of silence. */
export function preparePcma(amplitude = 0.125): { tone: Buffer; silent: Buffer } {
  const tone = Buffer.alloc(PCMA_SAMPLES_PER_FRAME);
  for (let i = 0; i < tone.length; i++) tone[i] = linearToAlaw(amplitude * 32767 * Math.sin((2 * Math.PI * i) / 8));
  return { tone, silent: Buffer.alloc(PCMA_SAMPLES_PER_FRAME, linearToAlaw(0)) };
}
