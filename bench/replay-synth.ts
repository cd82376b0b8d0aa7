// The sealed session `bench:replay` measures: a 2-hour hearing in room hearing-1 (3 cameras) made
// without recording in real time. Each camera's media is the simulator's loop clip, stream-copied
// in a loop into 2 s MPEG-TS segments with continuous timestamps (one ffmpeg per camera, each from
// another point of the clip and named in its service table, so no two cameras share a file). The session then goes through the product's own
// code with a manual clock: SessionService creates, starts, marks stages 18–25 over the two hours,
// stops and seals it; each segment is hashed and adopted (adoptFile + SegmentRepository.append, as
// RecordingService.adopt does); RecordingService.beforeSeal writes and signs the manifest.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { AuditLog } from '../server/src/audit/audit-log.ts';
import { CameraManager } from '../server/src/cameras/camera-manager.ts';
import { CameraRepository } from '../server/src/cameras/camera-repository.ts';
import { CameraStates } from '../server/src/cameras/camera-state.ts';
import { CaseRepository } from '../server/src/cases/case-repository.ts';
import { CaseService } from '../server/src/cases/case-service.ts';
import { loadChecklist } from '../server/src/checklist/checklist.ts';
import { loadConfig } from '../server/src/config/loader.ts';
import { EvidenceRepository } from '../server/src/evidence/evidence-repository.ts';
import { SigningKey } from '../server/src/evidence/signing-key.ts';
import { MANIFEST_SIG, PUBLIC_KEY } from '../server/src/evidence/verifier/verify.mjs';
import { DiskMonitor } from '../server/src/recording/disk-monitor.ts';
import { adoptFile, hashFile, sessionCameraDir } from '../server/src/recording/evidence-files.ts';
import { RecordingService } from '../server/src/recording/recording-service.ts';
import { SegmentRepository } from '../server/src/recording/segment-repository.ts';
import { RoomRepository } from '../server/src/rooms/room-repository.ts';
import { SessionRepository } from '../server/src/sessions/session-repository.ts';
import { SessionService, type Caller } from '../server/src/sessions/session-service.ts';
import { noLifecycleHooks } from '../server/src/sessions/session.types.ts';
import { ManualClock } from '../server/src/shared/clock.ts';
import { openDatabase } from '../server/src/shared/db/database.ts';
import { ffmpegBinary } from '../server/src/shared/ffmpeg/ffmpeg-binary.ts';
import type { Logger } from '../server/src/shared/logger.ts';
import { SecretBox } from '../server/src/shared/secret-box.ts';

export const SYNTH_CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
export const SYNTH_ITEMS = [18, 19, 20, 21, 22, 23, 24, 25];
export const SYNTH_CASE_NUMBER = '秦应急罚〔2026〕77号';
const SEGMENT_SECONDS = 2;

export interface SynthOptions {
  dataDir: string;
  /** The demo configuration without its simulator (rooms, cameras, recording settings). */
  configFile: string;
  clip: string;
  /** The clip's length (s): createLoopClip makes it exact. */
  clipSeconds: number;
  seconds: number;
  /** Session start (UTC); the stages follow it. */
  startedAt: Date;
  log: Logger;
  progress: (line: string) => void;
  /** Registers a child process to end on exit or Ctrl-C. */
  track: (kill: () => void) => () => void;
}

export interface SynthResult {
  sessionId: string;
  segments: number;
  bytes: number;
}

/** Runs ffmpeg to the end; rejects with its stderr on failure. */
function runFfmpeg(args: string[], track: SynthOptions['track']): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegBinary().path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const untrack = track(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      untrack();
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg ${signal ?? `exited ${code}`}: ${stderr.trim()}`));
    });
  });
}

/**
 * Loops the clip into ~2 s segments with continuous timestamps (the concat demuxer re-stamps each
 * repetition), starting `phaseS` into the clip; returns each segment's file and media start/end (s).
 */
async function segmentCamera(o: SynthOptions, dir: string, cameraId: string, phaseS: number): Promise<{ file: string; startS: number; endS: number }[]> {
  await mkdir(dir, { recursive: true });
  const list = join(dir, 'list.csv');
  const concat = join(dir, 'loop.ffconcat');
  const entry = `file '${o.clip.replaceAll("'", "'\\''")}'`;
  const repeats = Math.ceil(o.seconds / o.clipSeconds) + 1;
  await writeFile(concat, ['ffconcat version 1.0', entry, `inpoint ${phaseS}`, ...Array.from({ length: repeats }, () => entry), ''].join('\n'));
  await runFfmpeg(
    [
      '-hide_banner', '-nostats', '-nostdin', '-loglevel', 'error', '-y',
      '-f', 'concat', '-safe', '0', '-i', concat, '-t', String(o.seconds),
      '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy', '-bsf:v', 'h264_mp4toannexb',
      // The camera's name in every segment's service table: no two cameras' files are alike.
      '-metadata', `service_name=${cameraId}`,
      '-f', 'segment', '-segment_time', String(SEGMENT_SECONDS), '-segment_format', 'mpegts', '-reset_timestamps', '0',
      '-segment_list', list, '-segment_list_type', 'csv',
      join(dir, '%06d.ts'),
    ],
    o.track,
  );
  return (await readFile(list, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => {
      const [name, start, end] = line.split(',');
      return { file: join(dir, name!), startS: Number(start), endS: Number(end) };
    });
}

export async function synthesiseSession(o: SynthOptions): Promise<SynthResult> {
  const { config } = loadConfig({ file: o.configFile, env: { ...process.env, DATA_DIR: o.dataDir } });
  const clock = new ManualClock(new Date(o.startedAt.getTime() - 60_000));
  const db = openDatabase(join(o.dataDir, 'hearing-recorder.db'), o.log);
  try {
    const audit = new AuditLog(db, clock);
    const rooms = new RoomRepository(db, clock);
    rooms.seedFromConfig(config, audit, o.log);
    const cameras = new CameraRepository(db, clock);
    const sessionRepository = new SessionRepository(db);
    const cases = new CaseService(db, new CaseRepository(db), sessionRepository, audit, clock);
    const sessions = new SessionService(db, sessionRepository, cases, rooms, loadChecklist(), audit, clock, o.log, { state: () => {}, mark: () => {} });
    const segments = new SegmentRepository(db);
    // Only the seal is RecordingService's here (manifest, signature, read-only files): the segments are adopted below.
    const recording = new RecordingService(
      { dataDir: o.dataDir, ...config.recording },
      cameras,
      new CameraManager(cameras, new CameraStates(), SecretBox.open(o.dataDir), o.log, { intervalMs: 60_000, timeoutMs: 1000 }),
      new CameraStates(),
      sessionRepository,
      segments,
      new DiskMonitor(o.dataDir, { warningBytes: 0, refuseBytes: 0, floorBytes: 0 }, o.log),
      audit,
      o.log,
    );
    const key = SigningKey.open(o.dataDir);
    const evidence = new EvidenceRepository(db);
    recording.signManifest = (sessionId, text) => {
      evidence.saveSignature(sessionId, key.fingerprint, clock.now().toISOString());
      return [{ name: MANIFEST_SIG, content: key.sign(text) }, { name: PUBLIC_KEY, content: key.publicKeyPem }];
    };
    sessions.setHooks({ ...noLifecycleHooks, beforeSeal: (session) => recording.beforeSeal(session) });

    const clerk: Caller = { user: { username: 'clerk', roles: ['clerk'], rooms: ['hearing-1'] }, ip: null };
    const session = sessions.create(clerk, {
      caseNumber: SYNTH_CASE_NUMBER,
      title: '听证（回放基准，合成）',
      procedure: 'penalty-hearing',
      roomId: 'hearing-1',
      participants: [{ name: '张主持', role: 'presiding' }],
    });
    const t0 = o.startedAt.getTime();
    clock.set(o.startedAt);
    await sessions.start(clerk, session.id);
    const measuredAt = o.startedAt.toISOString();
    for (const subject of ['server', ...SYNTH_CAMERAS]) {
      segments.recordClock({ sessionId: session.id, subject, offsetMs: null, synchronized: null, source: 'synthetic', detail: 'synthesised by bench:replay', measuredAt });
    }
    // Stage marks spread evenly over the two hours, the first shortly after the start.
    const spanMs = o.seconds * 1000 - 60_000;
    SYNTH_ITEMS.forEach((item, k) => {
      clock.set(new Date(t0 + 30_000 + Math.round((k * spanMs) / SYNTH_ITEMS.length)));
      sessions.addMark(clerk, session.id, { item, clientId: randomUUID(), clientTime: clock.now().toISOString() });
    });

    const staging = join(o.dataDir, 'bench-staging');
    let count = 0;
    let bytes = 0;
    for (const [i, cameraId] of SYNTH_CAMERAS.entries()) {
      const t = performance.now();
      // Each camera starts at another point of the clip (on a keyframe: the clip's GOP is 2 s).
      const made = await segmentCamera(o, join(staging, cameraId), cameraId, 4 * i);
      const origin = made[0]!.startS;
      const dir = sessionCameraDir(o.dataDir, o.startedAt, session.id, cameraId);
      for (const seg of made) {
        const startMs = t0 + Math.round((seg.startS - origin) * 1000);
        const endMs = t0 + Math.round((seg.endS - origin) * 1000);
        const hashed = await hashFile(seg.file);
        const destination = join(dir, `${String(segments.nextSeq(session.id, cameraId)).padStart(6, '0')}.ts`);
        await adoptFile(seg.file, destination, hashed.sha256);
        segments.append({
          sessionId: session.id,
          cameraId,
          file: relative(o.dataDir, destination),
          startedAt: new Date(startMs).toISOString(),
          endedAt: new Date(endMs).toISOString(),
          durationMs: endMs - startMs,
          bytes: hashed.bytes,
          sha256: hashed.sha256,
          timeSource: 'rtcp',
          adoptedAt: new Date(endMs + 50).toISOString(),
        });
        count++;
        bytes += hashed.bytes;
      }
      o.progress(`  ${cameraId}: ${made.length} segments in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    await rm(staging, { recursive: true, force: true });

    clock.set(new Date(t0 + o.seconds * 1000));
    await sessions.stop(clerk, session.id);
    clock.advance(60_000);
    await sessions.seal(clerk, session.id);
    return { sessionId: session.id, segments: count, bytes };
  } finally {
    db.close();
  }
}
