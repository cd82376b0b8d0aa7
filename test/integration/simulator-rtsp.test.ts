import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegEncoders, ffmpegBinary } from '../../server/src/shared/ffmpeg/ffmpeg-binary.ts';
import { FfmpegProcess } from '../../server/src/shared/ffmpeg/ffmpeg-process.ts';
import { silentLogger } from '../../server/src/shared/logger.ts';
import { CameraFaults } from '../../server/src/simulator/faults.ts';
import { LiveMediaSource } from '../../server/src/simulator/media/live-media-source.ts';
import { createLoopClip, LoopMediaSource } from '../../server/src/simulator/media/loop-media-source.ts';
import type { MediaSource } from '../../server/src/simulator/media/media-source.types.ts';
import { decodeTimeCode } from '../../server/src/simulator/media/time-code.ts';
import { RtspClient, type ReceivedAudioFrame, type ReceivedVideoFrame } from '../../server/src/simulator/rtsp/rtsp-client.ts';
import { RtspServer } from '../../server/src/simulator/rtsp/rtsp-server.ts';
import { startGstRtspServer } from '../helpers/gst-rtsp-server.ts';

const run = promisify(execFile);
const log = silentLogger();
const credentials = { username: 'admin', password: 'Sim-Pass.1' };
const BUNDLED_FFMPEG = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;

function withCreds(url: string, password = credentials.password): string {
  return url.replace('rtsp://', `rtsp://${credentials.username}:${encodeURIComponent(password)}@`);
}

async function ffprobe(url: string, transport: 'tcp' | 'udp'): Promise<string[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rtsp_transport', transport, '-timeout', '10000000',
    '-show_entries', 'stream=codec_name,width,height,sample_rate', '-of', 'compact=p=0:nk=1', url], { timeout: 20_000 });
  return stdout.trim().split('\n').map((l) => l.replace(/\|+$/, ''));
}

async function playing(url: string, password = credentials.password): Promise<RtspClient> {
  const client = await RtspClient.connect(url, { ...credentials, password });
  await client.play();
  return client;
}

/** The next `n` video frames that carry a capture time (i.e. after the first sender report). */
function videoFrames(client: RtspClient, n: number): Promise<ReceivedVideoFrame[]> {
  return new Promise((resolve) => {
    const got: ReceivedVideoFrame[] = [];
    const on = (f: ReceivedVideoFrame) => {
      if (f.captureTimeMs === null || (got.length === 0 && !f.keyframe)) return;
      got.push(f);
      if (got.length === n) {
        client.off('video', on);
        resolve(got);
      }
    };
    client.on('video', on);
  });
}

function audioFrames(client: RtspClient, n: number): Promise<ReceivedAudioFrame[]> {
  return new Promise((resolve) => {
    const got: ReceivedAudioFrame[] = [];
    const on = (f: ReceivedAudioFrame) => {
      got.push(f);
      if (got.length === n) {
        client.off('audio', on);
        resolve(got);
      }
    };
    client.on('audio', on);
  });
}

/** Feeds `input` to an ffmpeg and returns its stdout. */
async function ffmpegFilter(input: Buffer, args: string[]): Promise<Buffer> {
  const p = new FfmpegProcess({ log, stdin: 'pipe', args: ['-hide_banner', '-loglevel', 'error', ...args] }).start();
  const out: Buffer[] = [];
  p.stdout!.on('data', (c: Buffer) => out.push(c));
  const closed = new Promise((r) => p.stdout!.once('close', r));
  p.stdin!.end(input);
  const info = await p.done();
  await closed;
  if (info.code !== 0) throw p.exitError();
  return Buffer.concat(out);
}

/** Received access units → ffmpeg H.264 decoder → the time code burned into each decoded frame. */
async function decodedTimeCodes(frames: ReceivedVideoFrame[], width: number, height: number): Promise<(number | null)[]> {
  const sc = Buffer.from([0, 0, 0, 1]);
  const annexB = Buffer.concat(frames.flatMap((f) => f.nalUnits.flatMap((n) => [sc, n])));
  const gray = await ffmpegFilter(annexB, ['-f', 'h264', '-i', 'pipe:0', '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  const size = width * height;
  const codes: (number | null)[] = [];
  for (let i = 0; i + size <= gray.length; i += size) codes.push(decodeTimeCode(gray.subarray(i, i + size), width, height));
  return codes;
}

/** Largest |time code − capture time from RTP + SR| over the frames; throws if counts differ. */
async function worstTimeCodeError(frames: ReceivedVideoFrame[], width: number, height: number): Promise<number> {
  const codes = await decodedTimeCodes(frames, width, height);
  expect(codes).toHaveLength(frames.length);
  return Math.max(...codes.map((c, i) => (c === null ? Infinity : Math.abs(c - frames[i]!.captureTimeMs!))));
}

function adts(frame: Buffer): Buffer {
  const len = frame.length + 7;
  return Buffer.concat([Buffer.from([0xff, 0xf1, (1 << 6) | (3 << 2), (1 << 6) | (len >> 11), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]), frame]);
}

function rms(s16: Buffer): number {
  let sum = 0;
  const n = s16.length >> 1;
  for (let i = 0; i < n; i++) sum += s16.readInt16LE(2 * i) ** 2;
  return Math.sqrt(sum / Math.max(1, n));
}

function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const seg = (v & 0x70) >> 4;
  let t = (v & 0x0f) << 4;
  t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
  return v & 0x80 ? t : -t;
}

describe('simulated camera RTSP server (live source)', () => {
  let source: LiveMediaSource;
  const faults = new CameraFaults();
  const pcmaFaults = new CameraFaults();
  let server: RtspServer;
  let pcmaServer: RtspServer;

  beforeAll(async () => {
    source = new LiveMediaSource({ log });
    await source.start();
    server = new RtspServer({ host: '127.0.0.1', port: 0, source, faults, credentials, audio: 'aac', log });
    pcmaServer = new RtspServer({ host: '127.0.0.1', port: 0, source, faults: pcmaFaults, credentials, audio: 'pcma', log });
    await Promise.all([server.start(), pcmaServer.start()]);
  });

  afterEach(() => {
    faults.clear();
    pcmaFaults.clear();
  });

  afterAll(async () => {
    const pid = source.encoderPid;
    await Promise.all([server?.close(), pcmaServer?.close()]);
    await source?.close();
    await server?.close(); // idempotent
    // The one encoder is reaped and nothing is left in its process group.
    if (pid) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('ffprobe over TCP and over UDP sees H.264 and AAC on /main (1280×720) and /sub (640×360)', async () => {
    const [tcpMain, udpMain, tcpSub, udpSub] = await Promise.all([
      ffprobe(withCreds(server.url('/main')), 'tcp'),
      ffprobe(withCreds(server.url('/main')), 'udp'),
      ffprobe(withCreds(server.url('/sub')), 'tcp'),
      ffprobe(withCreds(server.url('/sub')), 'udp'),
    ]);
    for (const main of [tcpMain, udpMain]) expect(main).toEqual(['h264|1280|720', 'aac|48000']);
    for (const sub of [tcpSub, udpSub]) expect(sub).toEqual(['h264|640|360', 'aac|48000']);
  });

  it('a G.711 camera offers PCMA 8 kHz over TCP and UDP', async () => {
    const [tcp, udp] = await Promise.all([ffprobe(withCreds(pcmaServer.url('/main')), 'tcp'), ffprobe(withCreds(pcmaServer.url('/sub')), 'udp')]);
    expect(tcp).toEqual(['h264|1280|720', 'pcm_alaw|8000']);
    expect(udp).toEqual(['h264|640|360', 'pcm_alaw|8000']);
  });

  it('GStreamer rtspsrc, an independent client, receives H.264 and audio (AAC over TCP, PCMA over UDP)', async () => {
    const pipeline = (url: string, protocols: string, audioDepay: string) => [
      '-q', 'rtspsrc', `location=${url}`, `user-id=${credentials.username}`, `user-pw=${credentials.password}`, `protocols=${protocols}`, 'latency=0', 'name=s',
      's.', '!', 'application/x-rtp,media=video', '!', 'queue', '!', 'rtph264depay', '!', 'h264parse', '!', 'video/x-h264', '!', 'identity', 'eos-after=10', '!', 'fakesink',
      's.', '!', 'application/x-rtp,media=audio', '!', 'queue', '!', audioDepay, '!', 'identity', 'eos-after=10', '!', 'fakesink',
    ];
    // gst-launch exits 0 only after both branches reached EOS, i.e. both got 10 buffers.
    await Promise.all([
      run('gst-launch-1.0', pipeline(server.url('/main'), 'tcp', 'rtpmp4gdepay'), { timeout: 20_000 }),
      run('gst-launch-1.0', pipeline(pcmaServer.url('/sub'), 'udp', 'rtppcmadepay'), { timeout: 20_000 }),
    ]);
  });

  it('serves several clients at once and a slow reader does not hold up the others', async () => {
    const a = await playing(server.url('/main'));
    const b = await playing(server.url('/sub'));
    const stuck = await playing(server.url('/main'));
    stuck.pauseReading();
    const [fa, fb] = await Promise.all([videoFrames(a, 25), videoFrames(b, 25)]);
    expect(fa).toHaveLength(25);
    expect(fb).toHaveLength(25);
    expect(server.stats().playing).toBe(3);
    // One second of video later, a and b still arrive in real time.
    const late = Math.max(...fa.map((f) => f.arrivalMs - f.captureTimeMs!));
    expect(late).toBeLessThan(200);
    await Promise.all([a.close(), b.close(), stuck.close()]);
  });

  it('digest authentication rejects a wrong password with 401', async () => {
    const client = await RtspClient.connect(server.url('/main'), { ...credentials, password: 'wrong' });
    const res = await client.request('DESCRIBE');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Digest realm="[^"]+", nonce="[0-9a-f]+"/);
    const options = await client.request('OPTIONS');
    expect(options.status).toBe(200); // OPTIONS needs no credentials
    await client.close();
    await expect(ffprobe(withCreds(server.url('/main'), 'wrong'), 'tcp')).rejects.toThrow(/401/);
  });

  it('the time code in decoded frames equals the capture time recovered from RTP time + RTCP SR (main and sub)', async () => {
    const main = await playing(server.url('/main'));
    const sub = await playing(server.url('/sub'));
    const [fm, fs] = await Promise.all([videoFrames(main, 30), videoFrames(sub, 30)]);
    await Promise.all([main.close(), sub.close()]);
    // Within one frame is the requirement; the mapping is in fact exact to the millisecond.
    expect(await worstTimeCodeError(fm, 1280, 720)).toBeLessThan(1);
    expect(await worstTimeCodeError(fs, 640, 360)).toBeLessThan(1);
    // Frames are 40 ms apart on the capture clock.
    const steps = fm.slice(1).map((f, i) => f.captureTimeMs! - fm[i]!.captureTimeMs!);
    expect(Math.min(...steps)).toBeGreaterThan(20);
    expect(Math.max(...steps)).toBeLessThan(80);
  });

  it('clockSkewS: sender reports carry the camera clock, N seconds off', async () => {
    const control = await playing(server.url('/main'));
    const [c] = await videoFrames(control, 1);
    await control.close();
    faults.set({ clockSkewS: 5 });
    const skewed = await playing(server.url('/main'));
    const sr = await new Promise<{ ntpMs: number; arrivalMs: number }>((r) => skewed.once('sr', r));
    const frames = await videoFrames(skewed, 5);
    await skewed.close();
    expect(Math.abs(sr.ntpMs - sr.arrivalMs - 5000)).toBeLessThan(100);
    expect(Math.abs(c!.captureTimeMs! - c!.arrivalMs)).toBeLessThan(100);
    for (const f of frames) expect(Math.abs(f.captureTimeMs! - f.arrivalMs - 5000)).toBeLessThan(100);
    // The picture still shows the true time: the skew is the camera's clock, not the frames'.
    const codes = await decodedTimeCodes(frames, 1280, 720);
    codes.forEach((code, i) => expect(Math.abs(frames[i]!.captureTimeMs! - code! - 5000)).toBeLessThan(1));
  });

  it('drop: every open connection is closed at once, and the camera takes new ones', async () => {
    const a = await playing(server.url('/main'));
    const b = await RtspClient.connect(server.url('/sub'), credentials);
    await videoFrames(a, 1);
    const closed = Promise.all([new Promise<void>((r) => a.once('close', r)), new Promise<void>((r) => b.once('close', r))]);
    faults.dropConnections();
    await closed;
    expect(server.stats()).toMatchObject({ sessions: 0, playing: 0 });
    const c = await playing(server.url('/main'));
    await videoFrames(c, 1);
    await c.close();
  });

  it('unresponsive: the connection is accepted but nothing is answered', async () => {
    faults.set({ unresponsive: true });
    const client = await RtspClient.connect(server.url('/main'), { ...credentials, timeoutMs: 1000 });
    await expect(client.request('OPTIONS')).rejects.toThrow(/no answer within 1000 ms/);
    expect(client.isClosed).toBe(false);
    await client.close();
  });

  it('wrongPassword: the configured password gets 401', async () => {
    faults.set({ wrongPassword: true });
    const client = await RtspClient.connect(server.url('/main'), credentials);
    expect((await client.request('DESCRIBE')).status).toBe(401);
    faults.set({ wrongPassword: false });
    expect((await client.request('DESCRIBE')).status).toBe(200);
    await client.close();
  });

  it('stallMedia: the session stays open but no RTP flows, until the fault clears', async () => {
    const client = await playing(server.url('/main'));
    await videoFrames(client, 2);
    let packets = 0;
    let reports = 0;
    faults.set({ stallMedia: true });
    // Proving an absence needs a window: let packets already in flight land, then count over 1.2 s
    // (longer than the 1 s sender report interval).
    await new Promise((r) => setTimeout(r, 200));
    client.on('rtp', () => packets++);
    client.on('sr', () => reports++);
    await new Promise((r) => setTimeout(r, 1200));
    expect(packets).toBe(0);
    expect(reports).toBe(0);
    expect(client.isClosed).toBe(false);
    expect((await client.request('GET_PARAMETER', client.url, { Session: client.sessionId ?? '' })).status).toBe(200);
    faults.set({ stallMedia: false });
    await videoFrames(client, 1);
    await client.close();
  });

  it('silentAudio: the audio decodes to digital silence (AAC and PCMA), the tone otherwise', async () => {
    const aacLevel = async () => {
      const c = await playing(server.url('/sub'));
      const frames = await audioFrames(c, 40);
      await c.close();
      const pcm = await ffmpegFilter(Buffer.concat(frames.map((f) => adts(f.payload))), ['-f', 'aac', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', 'pipe:1']);
      return rms(pcm.subarray(2 * 4096)); // skip the decoder's priming
    };
    const pcmaLevel = async () => {
      const c = await playing(pcmaServer.url('/sub'));
      const frames = await audioFrames(c, 20);
      await c.close();
      const samples = Buffer.concat(frames.map((f) => f.payload));
      let sum = 0;
      for (const a of samples) sum += alawToLinear(a) ** 2;
      return Math.sqrt(sum / samples.length);
    };
    const [toneAac, tonePcma] = [await aacLevel(), await pcmaLevel()];
    expect(toneAac).toBeGreaterThan(1000);
    expect(tonePcma).toBeGreaterThan(1000);
    faults.set({ silentAudio: true });
    pcmaFaults.set({ silentAudio: true });
    expect(await aacLevel()).toBeLessThan(1);
    expect(await pcmaLevel()).toBeLessThan(10); // A-law has no exact zero: ±8
  });

  it('ends a session nobody keeps alive after its timeout, and keeps one that sends GET_PARAMETER', async () => {
    const short = new RtspServer({ host: '127.0.0.1', port: 0, source, faults, credentials, audio: 'aac', log, sessionTimeoutS: 1 });
    await short.start();
    try {
      const idle = await playing(short.url('/main'));
      const kept = await playing(short.url('/sub'));
      expect(idle.sdp).toBeTruthy();
      const timer = setInterval(() => void kept.request('GET_PARAMETER', kept.url, { Session: kept.sessionId ?? '' }).catch(() => undefined), 300);
      const ended = await new Promise<{ session: string; reason: string }>((r) => short.once('sessionClosed', r));
      clearInterval(timer);
      expect(ended).toEqual({ session: idle.sessionId, reason: 'timeout' });
      expect(short.stats()).toMatchObject({ sessions: 1, playing: 1 });
      await Promise.all([idle.close(), kept.close()]);
    } finally {
      await short.close();
    }
  });

  it('serves a JPEG snapshot of the current main frame', () => {
    const jpeg = source.latestSnapshot();
    expect(jpeg?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(jpeg?.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
  });
});

describe('simulator sources in other set-ups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hr-sim-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function serveAndCheck(source: MediaSource, check: (client: RtspClient, server: RtspServer) => Promise<void>): Promise<void> {
    const server = new RtspServer({ host: '127.0.0.1', port: 0, source, faults: new CameraFaults(), credentials, audio: 'aac', log });
    await server.start();
    try {
      const client = await playing(server.url('/main'));
      try {
        await check(client, server);
      } finally {
        await client.close();
      }
    } finally {
      await server.close();
    }
  }

  it('loop mode replays a clip made by createLoopClip with wall-clock capture times', async () => {
    const file = join(dir, 'clip.mp4');
    await createLoopClip(file, { seconds: 2, width: 640, height: 360, sub: { width: 320, height: 180, bitrate: 200_000 }, bitrate: 1_000_000, log });
    const source = new LoopMediaSource({ file, log });
    await source.start();
    try {
      expect(source.info().main).toMatchObject({ width: 640, height: 360, fps: 25 });
      expect(source.info().sub).toMatchObject({ width: 320, height: 180 });
      await serveAndCheck(source, async (client, server) => {
        // 60 frames: more than the 50-frame clip, so the loop seam is crossed.
        const frames = await videoFrames(client, 60);
        for (const f of frames) expect(Math.abs(f.arrivalMs - f.captureTimeMs!)).toBeLessThan(200);
        expect(await decodedTimeCodes(frames, 640, 360)).toHaveLength(60);
        expect(await ffprobe(withCreds(server.url('/sub')), 'tcp')).toEqual(['h264|320|180', 'aac|48000']);
      });
    } finally {
      await source.close();
    }
  });

  it('the live source runs on the bundled 2018 ffmpeg (FFMPEG_PATH), with its libx264', async () => {
    const before = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = BUNDLED_FFMPEG;
    try {
      expect(ffmpegBinary().major).toBe(4);
      expect(ffmpegEncoders().has('libx264')).toBe(true);
      const source = new LiveMediaSource({ log });
      await source.start();
      const pid = source.encoderPid!;
      try {
        await serveAndCheck(source, async (client) => {
          const frames = await videoFrames(client, 15);
          expect(await worstTimeCodeError(frames, 1280, 720)).toBeLessThan(1);
        });
      } finally {
        await source.close();
      }
      expect(existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      if (before === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = before;
    }
  });

  it('the GStreamer interop fixture serves H.264 + AAC and H.264 + PCMA', async () => {
    const gst = await startGstRtspServer();
    try {
      const [aac, pcma] = await Promise.all([ffprobe(gst.urls.aac!, 'tcp'), ffprobe(gst.urls.pcma!, 'udp')]);
      expect(aac).toEqual(['h264|640|360', 'aac|48000']);
      expect(pcma).toEqual(['h264|640|360', 'pcm_alaw|8000']);
    } finally {
      await gst.stop();
    }
    expect(gst.process.exitCode ?? gst.process.signalCode).not.toBeNull();
  });
});
