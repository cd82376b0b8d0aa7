import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

/** A resolved ffmpeg or ffprobe executable and where it came from. */
export interface FfBinary {
  path: string;
  source: 'env' | 'path' | 'bundled';
  /** Major version of the FFmpeg release (4 for the bundled 2018 build, 5 for Debian 12, ...). */
  major: number;
  /** libavformat major version: the reliable key for option names (git builds have no release number). */
  avformatMajor: number;
  versionLine: string;
}

const require = createRequire(import.meta.url);

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function bundled(pkg: '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe'): string | null {
  try {
    const mod = require(pkg) as { path?: unknown };
    return typeof mod.path === 'string' ? mod.path : null;
  } catch {
    return null;
  }
}

// libavformat major → FFmpeg release major; git snapshots only say "N-12345-g…".
const AVFORMAT_TO_RELEASE: Record<number, number> = { 57: 3, 58: 4, 59: 5, 60: 6, 61: 7, 62: 8 };

function probeVersion(path: string): { major: number; avformatMajor: number; versionLine: string } {
  const out = execFileSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  const versionLine = out.split('\n')[0] ?? '';
  const avf = /libavformat\s+(\d+)\./.exec(out);
  const avformatMajor = avf ? Number(avf[1]) : 0;
  const rel = /version\s+n?(\d+)\.\d+/.exec(versionLine);
  const major = rel ? Number(rel[1]) : (AVFORMAT_TO_RELEASE[avformatMajor] ?? 0);
  return { major, avformatMajor, versionLine };
}

const cache = new Map<string, FfBinary>();

function resolveBinary(tool: 'ffmpeg' | 'ffprobe'): FfBinary {
  const envName = tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const fromEnv = process.env[envName];
  // Keyed by the env value so a test that changes FFMPEG_PATH gets a fresh answer.
  const key = `${tool}:${fromEnv ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let path: string | null = null;
  let source: FfBinary['source'] = 'env';
  if (fromEnv) path = fromEnv;
  else if ((path = onPath(tool))) source = 'path';
  else {
    path = bundled(tool === 'ffmpeg' ? '@ffmpeg-installer/ffmpeg' : '@ffprobe-installer/ffprobe');
    source = 'bundled';
  }
  if (!path) throw new Error(`${tool} not found: set ${envName}, install ${tool} on PATH, or install the npm fallback`);
  const binary: FfBinary = { path, source, ...probeVersion(path) };
  cache.set(key, binary);
  return binary;
}

/** The ffmpeg to run: `FFMPEG_PATH`, else `ffmpeg` on PATH, else `@ffmpeg-installer/ffmpeg`. Cached. */
export function ffmpegBinary(): FfBinary {
  return resolveBinary('ffmpeg');
}

/** The ffprobe to run: `FFPROBE_PATH`, else `ffprobe` on PATH, else `@ffprobe-installer/ffprobe`. Cached. */
export function ffprobeBinary(): FfBinary {
  return resolveBinary('ffprobe');
}

/**
 * The RTSP socket timeout option for this ffmpeg, in microseconds. `-stimeout` was removed in
 * FFmpeg 5 (libavformat 59), where `-timeout` took its meaning; before that `-timeout` meant the
 * listen timeout and broke client use.
 */
export function rtspTimeoutArgs(us: number, binary: FfBinary = ffmpegBinary()): string[] {
  const value = String(Math.round(us));
  return binary.avformatMajor > 0 && binary.avformatMajor < 59 ? ['-stimeout', value] : ['-timeout', value];
}

/** Encoders the binary lists (`-encoders`), cached per path. */
const encoderCache = new Map<string, Set<string>>();
export function ffmpegEncoders(binary: FfBinary = ffmpegBinary()): Set<string> {
  const hit = encoderCache.get(binary.path);
  if (hit) return hit;
  const out = execFileSync(binary.path, ['-hide_banner', '-encoders'], { encoding: 'utf8', timeout: 10_000 });
  const names = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^\s[VAS][A-Z.]{5}\s+(\S+)/.exec(line);
    if (m?.[1]) names.add(m[1]);
  }
  encoderCache.set(binary.path, names);
  return names;
}
