import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraIngest, type SpoolSegment } from '../../server/src/ingest/camera-ingest.ts';
import { runFfmpeg } from '../../server/src/shared/ffmpeg/ffmpeg-process.ts';
import { silentLogger } from '../../server/src/shared/logger.ts';
import { decodeTimeCode } from '../../server/src/simulator/media/time-code.ts';
import { Simulator } from '../../server/src/simulator/simulator.ts';

// Subnet of this file: 127.0.0.70. Live source: the burned-in time code is the ground truth.
const log = silentLogger();
const creds = { username: 'admin', password: 'Sim-Pass.1' };
let work: string;
let sim: Simulator;
const ingests: CameraIngest[] = [];

function segments(ingest: CameraIngest, n: number): Promise<SpoolSegment[]> {
  return new Promise((resolve) => {
    const got: SpoolSegment[] = [];
    ingest.on('segment', (s) => {
      got.push(s);
      if (got.length === n) resolve(got);
    });
  });
}

/** The time code burned into the first decoded video frame of a segment file. */
async function firstFrameTimeCode(file: string): Promise<number | null> {
  const { stdout } = await runFfmpeg({ log, timeoutMs: 20_000, args: ['-v', 'error', '-i', file, '-map', '0:v:0', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'] });
  return decodeTimeCode(stdout, 1280, 720);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ingest-time-'));
  sim = await Simulator.start({ cameras: 1, firstAddress: '127.0.0.70', onvifBasePort: 18700, rtspBasePort: 18770, discoveryPort: 13770, ...creds, audio: 'aac', log });
}, 60_000);

afterAll(async () => {
  await Promise.all(ingests.map((i) => i.close()));
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('CameraIngest capture time', () => {
  it('RTCP time puts every segment start, the first of a connection included, within three frames (120 ms) of its first frame’s burned-in capture time, by RTCP and by arrival', async () => {
    const make = (cameraId: string, timeSource: 'auto' | 'arrival') => {
      const i = new CameraIngest({ cameraId, rtspUrl: sim.info[0]!.rtsp.main, credentials: creds, spoolDir: join(work, 'spool'), log, timeSource });
      ingests.push(i);
      return i;
    };
    const rtcp = make('by-rtcp', 'auto');
    const arrival = make('by-arrival', 'arrival');
    const gotRtcp = segments(rtcp, 4);
    const gotArrival = segments(arrival, 4);
    await Promise.all([rtcp.start(), arrival.start()]);
    const [a, b] = await Promise.all([gotRtcp, gotArrival]);
    const errors = async (segs: SpoolSegment[]) =>
      Promise.all(segs.map(async (s) => {
        const code = await firstFrameTimeCode(s.file);
        expect(code).not.toBeNull();
        return Date.parse(s.startedAt) - code!;
      }));
    const rtcpErrors = await errors(a);
    const arrivalErrors = await errors(b);
    console.log(`capture time error (startedAt − time code), ms: rtcp ${rtcpErrors.join(', ')}; arrival ${arrivalErrors.join(', ')}`);
    for (const s of a) expect(s.timeSource).toBe('rtcp');
    for (const s of b) expect(s.timeSource).toBe('arrival');
    // The first segment of a connection is placed by its second and third frames (ffmpeg stamps
    // the first one ~0.8 s early): rtcp +4..+20 ms, arrival +2..+8 ms. OPEN DEFECT (issue 4): in
    // about half the runs a later segment steps by two frames (+79 ms), in both modes alike, so the
    // step lies between the simulator's time code and its RTP time or in ffmpeg's timeline, not in
    // the RTCP mapping. Until it is found the bound is three frames.
    for (const e of rtcpErrors) expect(Math.abs(e)).toBeLessThanOrEqual(120);
    for (const e of arrivalErrors) expect(Math.abs(e)).toBeLessThanOrEqual(120);
  }, 60_000);

  it('after a stall that outlasts a reconnect, the first segment of the camera\'s return is placed by its capture time, not by when ffmpeg connected', async () => {
    const [rtcp, arrival] = ingests as [CameraIngest, CameraIngest];
    const firstAfterGap = (ingest: CameraIngest) =>
      new Promise<SpoolSegment>((resolve) => {
        let resumed = false;
        ingest.on('interruption', () => (resumed = true));
        ingest.on('segment', (s) => resumed && resolve(s));
      });
    const reconnected = (ingest: CameraIngest) => new Promise<void>((resolve) => ingest.on('state', (state) => state === 'reconnecting' && resolve()));
    const gotRtcp = firstAfterGap(rtcp);
    const gotArrival = firstAfterGap(arrival);
    const stalled = Promise.all([reconnected(rtcp), reconnected(arrival)]);
    sim.cameras[0]!.faults.set({ stallMedia: true });
    await stalled;
    // Keep the camera away for 1.5 s more: ffmpeg connects again while no media flows.
    await new Promise((r) => setTimeout(r, 1500)); // fault duration, not synchronisation
    sim.cameras[0]!.faults.set({ stallMedia: false });
    const [a, b] = await Promise.all([gotRtcp, gotArrival]);
    const errors = await Promise.all([a, b].map(async (s) => Date.parse(s.startedAt) - (await firstFrameTimeCode(s.file))!));
    console.log(`capture time error of the first segment after a stall, ms: rtcp ${errors[0]}; arrival ${errors[1]}`);
    expect(a.timeSource).toBe('rtcp');
    for (const e of errors) expect(Math.abs(e)).toBeLessThanOrEqual(120);
  }, 60_000);
});
