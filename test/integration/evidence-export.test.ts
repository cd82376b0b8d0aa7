import { execFileSync, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeTimeCode, timeCodeHeight } from '../../server/src/simulator/media/time-code.ts';
import { ApiClient, CLI, REPO_ROOT, startTestServer, type TestServer } from '../helpers/server.ts';

// Records and seals a short demo hearing (three cameras, stages 18–20) and a second short session,
// exports the first as legal staff, and checks the package with the bundled verifier (plain node
// from the unpacked folder, no node_modules), the CLI, and standard tools; then tampers with copies
// of it in every way the issue lists, and flips a byte in stored evidence for the integrity scrub.
const CAMERAS = ['h1-wide', 'h1-presiding', 'h1-party'];
// Each check runs real verifiers (node, tsx, ffprobe) over a few hundred MB: slow on a shared, loaded machine.
vi.setConfig({ testTimeout: 180_000 });
let server: TestServer;
let clerk: ApiClient;
let legal: ApiClient;
let admin: ApiClient;
let sessionId: string;
let otherSessionId: string;
let session: any;
let fingerprint: string;
let work: string;
let zipFile: string;
let pkg: string;
let lastExportId: string;
/** A body-camera file imported into the hearing's case before the export. */
let bodyCamera: { id: string; sha256: string; data: Buffer };
const progress: { exportId: string; state: string; progress: number }[] = [];
const alarms: { admin: any[]; supervisor: any[] } = { admin: [], supervisor: [] };
const sockets: Socket[] = [];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let clientIds = 0;
const mark = (id: string, body: object) =>
  clerk.post(`/api/sessions/${id}/marks`, { ...body, clientId: `00000000-0000-4000-8000-${String(++clientIds).padStart(12, '0')}`, clientTime: new Date().toISOString() });

/** Runs a verifier command; returns its exit code and everything it printed. */
function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  // Asynchronous, so the test's own HTTP connections stay serviced while a verifier runs.
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}
const cli = (...args: string[]) => run(process.execPath, [CLI, 'verify', ...args], REPO_ROOT, { ...process.env, DATA_DIR: server.dataDir });
/** The bundled verifier, run as a stranger would: plain node in the unpacked folder, outside the repository. */
const bundled = (dir: string, ...args: string[]) => run(process.execPath, ['verify.mjs', ...args], dir, { PATH: process.env.PATH });

/** A fresh copy of the unpacked package to damage. */
let copies = 0;
function copyOfPackage(): string {
  const dir = join(work, `copy-${++copies}`);
  cpSync(pkg, dir, { recursive: true });
  return dir;
}
function flipByte(file: string, at?: number): void {
  const data = readFileSync(file);
  const i = at ?? Math.floor(data.length / 2);
  data[i] = data[i]! ^ 0xff;
  writeFileSync(file, data);
}

async function recordSession(title: string, stages: number[], stageMs: number): Promise<string> {
  const created = await clerk.post('/api/sessions', {
    caseNumber: '秦应急罚〔2026〕12号',
    title,
    procedure: 'penalty-hearing',
    roomId: 'hearing-1',
    participants: [
      { name: '张主持', role: 'presiding' },
      { name: '李调查', role: 'investigator', badgeNumber: '13000001' },
      { name: '王调查', role: 'investigator', badgeNumber: '13000002' },
    ],
  });
  expect(created.status, created.text).toBe(201);
  const id = created.json.id as string;
  expect((await clerk.post(`/api/sessions/${id}/start`)).status).toBe(200);
  await pause(2500);
  for (const item of stages) {
    expect((await mark(id, { item })).status).toBe(201);
    await pause(stageMs);
  }
  expect((await clerk.post(`/api/sessions/${id}/stop`)).status).toBe(200);
  // A loaded machine can stall a camera: the clerk explains every gap before sealing, as in real use.
  for (let i = 0; i < 20; i++) {
    const open = ((await clerk.get(`/api/sessions/${id}`)).json.interruptions as { id: string; explanation: string | null }[]).filter((x) => x.explanation === null);
    if (open.length === 0) break;
    for (const x of open) await clerk.post(`/api/sessions/${id}/interruptions/${x.id}/explanation`, { text: '测试机负载过高，画面中断' });
  }
  const sealed = await clerk.post(`/api/sessions/${id}/seal`);
  expect(sealed.status, sealed.text).toBe(200);
  return id;
}

/** Registers a body camera and uploads a short MP4 from it into the case (one chunk). */
async function importBodyCamera(caseId: string): Promise<typeof bodyCamera> {
  const file = join(work, 'DSC_0001.MP4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-movflags', '+faststart', file]);
  const data = readFileSync(file);
  const device = await admin.post('/api/devices', { name: '执法记录仪 03', officer: '李调查', badgeNumber: '13000001' });
  expect(device.status, device.text).toBe(201);
  const created = await legal.post(`/api/cases/${caseId}/imports`, { fileName: 'DSC_0001.MP4', bytes: data.length, deviceId: device.json.id, item: 11 });
  expect(created.status, created.text).toBe(201);
  const id = created.json.id as string;
  const put = await fetch(`${server.url}/api/imports/${id}/chunks/0`, { method: 'PUT', headers: { cookie: legal.sessionCookie!, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  expect(put.status).toBe(200);
  const done = await legal.post(`/api/imports/${id}/complete`);
  expect(done.status, done.text).toBe(200);
  return { id, sha256: createHash('sha256').update(data).digest('hex'), data };
}

async function exportAndWait(id: string, body: object): Promise<string> {
  const requested = await legal.post(`/api/sessions/${id}/exports`, body);
  expect(requested.status, requested.text).toBe(202);
  const exportId = requested.json.id as string;
  for (let i = 0; i < 240; i++) {
    const state = (await legal.get(`/api/exports/${exportId}`)).json;
    if (state.state === 'ready') return exportId;
    if (state.state === 'failed') throw new Error(`export failed: ${state.error}\n${server.output.filter((l) => /evidence|worker|error/i.test(l)).slice(-20).join('\n')}`);
    await pause(250);
  }
  throw new Error('export did not finish');
}

async function download(exportId: string, to: string): Promise<void> {
  const response = await fetch(`${server.url}/api/exports/${exportId}/download`, { headers: { cookie: legal.sessionCookie! } });
  expect(response.status).toBe(200);
  writeFileSync(to, Buffer.from(await response.arrayBuffer()));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hr-evidence-'));
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 }, evidence: { scrubIntervalS: 4 } } });
  clerk = new ApiClient(server.url);
  legal = new ApiClient(server.url);
  admin = new ApiClient(server.url);
  const supervisor = new ApiClient(server.url);
  await Promise.all([clerk.login('clerk'), legal.login('legal'), admin.login('admin'), supervisor.login('supervisor')]);
  const socketOf = (client: ApiClient) => {
    const socket = connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: client.sessionCookie! } });
    sockets.push(socket);
    return socket;
  };
  socketOf(legal).on('export:progress', (event: any) => progress.push(event));
  socketOf(admin).on('evidence:integrity', (alarm: any) => alarms.admin.push(alarm));
  socketOf(supervisor).on('evidence:integrity', (alarm: any) => alarms.supervisor.push(alarm));
  for (let i = 0; i < 60; i++) {
    const cameras = (await admin.get('/api/cameras')).json as { id: string; state: string }[];
    if (cameras.filter((c) => CAMERAS.includes(c.id)).every((c) => c.state === 'online')) break;
    await pause(250);
  }
  await pause(4000); // spool for the pre-roll
  sessionId = await recordSession('听证（导出测试）', [18, 19, 20], 4000);
  otherSessionId = await recordSession('另一次听证', [18], 3000);
  session = (await clerk.get(`/api/sessions/${sessionId}`)).json;
  bodyCamera = await importBodyCamera(session.caseId);
  fingerprint = (await admin.get('/api/evidence/key')).json.fingerprint;
  const exportId = await exportAndWait(sessionId, {});
  lastExportId = exportId;
  zipFile = join(work, 'package.zip');
  await download(exportId, zipFile);
  pkg = join(work, 'package');
  execFileSync('unzip', ['-q', zipFile, '-d', pkg]);
}, 300_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  // Sealed files are 0555/0444: let the temporary folders go.
  if (process.env.KEEP_EVIDENCE_TEST) {
    console.log(`kept ${work} and ${server?.dataDir}`);
    await server?.stop({ keepData: true });
    return;
  }
  if (work) rmSync(work, { recursive: true, force: true });
  await server?.stop();
});

describe('signing', () => {
  it('generates an Ed25519 key on first start: private key 0600, fingerprint from the admin API', async () => {
    const key = join(server.dataDir, 'keys', 'evidence-signing.key');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const info = (await admin.get('/api/evidence/key')).json;
    expect(info.algorithm).toBe('Ed25519');
    expect(info.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: info.publicKeyPem });
    expect(createHash('sha256').update(der).digest('hex')).toBe(info.fingerprint);
    expect((await clerk.get('/api/evidence/key')).status).toBe(403);
  });

  it('signs the sealed manifest: manifest.sig verifies with openssl, read-only, fingerprint stored with the manifest', () => {
    const dir = join(server.dataDir, session.manifest.file, '..');
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'public-key.pem'), '-rawin', '-in', join(dir, 'manifest.json'), '-sigfile', join(dir, 'manifest.sig')], { encoding: 'utf8' });
    expect(out).toContain('Signature Verified Successfully');
    for (const f of ['manifest.json', 'manifest.sig', 'public-key.pem']) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o444);
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const row = db.prepare('SELECT key_fingerprint FROM manifest_signatures WHERE session_id = ?').get(sessionId) as { key_fingerprint: string };
    db.close();
    expect(row.key_fingerprint).toBe(fingerprint);
  });
});

describe('export', () => {
  it('reports progress over socket.io to the requester, ending ready', () => {
    expect(progress.some((p) => p.state === 'running')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ state: 'ready', progress: 1 });
  });

  it('holds the originals bit for bit, a working copy per camera and stage, the records, key, verifier and bilingual README', () => {
    const manifest = JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8'));
    expect(readFileSync(join(pkg, 'manifest.json')).equals(readFileSync(join(server.dataDir, session.manifest.file)))).toBe(true);
    for (const camera of manifest.cameras) {
      for (const s of camera.segments) {
        const copy = readFileSync(join(pkg, 'original', camera.cameraId, `${String(s.seq).padStart(6, '0')}.ts`));
        expect(copy.equals(readFileSync(join(server.dataDir, s.file))), s.file).toBe(true);
      }
      for (const item of [18, 19, 20]) expect(existsSync(join(pkg, 'working', camera.cameraId, `stage-${item}.mp4`))).toBe(true);
    }
    for (const f of ['manifest.sig', 'public-key.pem', 'verify.mjs', 'README.txt', 'export.json', 'marks.json', 'chains.json', 'interruptions.json', 'compliance.json', 'custody.json', 'SHA256SUMS', 'SHA256SUMS.sig']) {
      expect(existsSync(join(pkg, f)), f).toBe(true);
    }
    const readme = readFileSync(join(pkg, 'README.txt'), 'utf8');
    expect(readme).toContain('sha256sum -c SHA256SUMS');
    expect(readme).toContain('certutil -hashfile');
    expect(readme).toContain('openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig');
    expect(readme).toContain('校验');
    expect(readFileSync(join(pkg, 'verify.mjs'), 'utf8')).not.toMatch(/from '(?!node:)/);
    expect(JSON.parse(readFileSync(join(pkg, 'compliance.json'), 'utf8')).findings.length).toBeGreaterThan(0);
  });

  it('holds the case\'s body-camera files bit for bit, with their arrival hashes, device, item and time findings', () => {
    const file = `imports/${bodyCamera.id}.mp4`;
    expect(readFileSync(join(pkg, file)).equals(bodyCamera.data)).toBe(true);
    expect(JSON.parse(readFileSync(join(pkg, 'export.json'), 'utf8')).imports).toEqual([{ id: bodyCamera.id, file, sha256: bodyCamera.sha256 }]);
    const [described] = JSON.parse(readFileSync(join(pkg, 'imports.json'), 'utf8'));
    expect(described).toMatchObject({ id: bodyCamera.id, file, sha256: bodyCamera.sha256, fileName: 'DSC_0001.MP4', item: 11, damaged: false, createdBy: 'legal', state: 'stored' });
    expect(described.timeZone).toMatchObject({ suspect: false });
    expect(readFileSync(join(pkg, 'SHA256SUMS'), 'utf8')).toContain(`${bodyCamera.sha256}  ${file}`);
  });

  it('carries the custody log with this export in it, and audits the export', async () => {
    const custody = JSON.parse(readFileSync(join(pkg, 'custody.json'), 'utf8'));
    expect(custody.some((e: any) => e.action === 'export' && e.username === 'legal')).toBe(true);
    const auditor = new ApiClient(server.url);
    await auditor.login('auditor');
    const actions = ((await auditor.get('/api/audit?limit=500')).json.entries as { action: string }[]).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['evidence.export_requested', 'evidence.exported', 'evidence.export_downloaded']));
  });

  it('passes standard tools: sha256sum -c and openssl over both signatures', async () => {
    expect((await run('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], pkg)).code).toBe(0);
    for (const [file, sig] of [['manifest.json', 'manifest.sig'], ['SHA256SUMS', 'SHA256SUMS.sig']]) {
      const out = await run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'public-key.pem', '-rawin', '-in', file!, '-sigfile', sig!], pkg);
      expect(out.out).toContain('Signature Verified Successfully');
    }
  });

  it('working copies start on the stage mark: within two frames by the burned-in time code, net of the recording\'s own capture-time error', () => {
    const index = JSON.parse(readFileSync(join(pkg, 'export.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(pkg, 'manifest.json'), 'utf8'));
    const strip = timeCodeHeight(1280);
    /** The time code of every frame of a file, from the top strip only. */
    const timeCodes = (file: string, frames?: number) => {
      const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, ...(frames ? ['-frames:v', String(frames)] : []), '-vf', `crop=1280:${strip}:0:0`, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 28 });
      const size = 1280 * strip;
      return Array.from({ length: raw.length / size }, (_, i) => decodeTimeCode(new Uint8Array(raw.subarray(i * size, (i + 1) * size)), 1280, strip)).filter((t): t is number => t !== null);
    };
    const segments = manifest.cameras.find((c: any) => c.cameraId === 'h1-wide').segments as { seq: number; startedAt: string }[];
    const frames = new Map(segments.map((s) => [s.seq, timeCodes(join(pkg, 'original', 'h1-wide', `${String(s.seq).padStart(6, '0')}.ts`))]));
    // The recording's capture times against the burned-in clock (recording's tolerance: 120 ms, ingest-time.test.ts).
    const errors = segments.slice(1).map((s) => frames.get(s.seq)![0]! - Date.parse(s.startedAt)).sort((a, b) => a - b);
    const captureError = errors[Math.floor(errors.length / 2)]!;
    // Reported, not judged here: the recording's accuracy is ingest-time.test.ts's (a loaded machine makes it worse).
    console.log(`recording capture time error (first frame's time code − startedAt), median ${captureError} ms`);
    const recorded = [...frames.values()].flat().sort((a, b) => a - b);
    for (const item of [19, 20]) {
      const copy = index.workingCopies.find((c: any) => c.cameraId === 'h1-wide' && c.item === item);
      const markMs = Date.parse(copy.from);
      const [shown] = timeCodes(join(pkg, copy.file), 1);
      expect(shown, `stage ${item}`).toBeDefined();
      // The frame the recording places at the mark (a loaded machine can leave holes in the recording itself).
      const atMark = recorded.find((t) => t - captureError >= markMs)!;
      const detail = `stage ${item}: mark ${copy.from}, shows ${new Date(shown!).toISOString()}, recorded at the mark ${new Date(atMark).toISOString()}`;
      expect(Math.abs(shown! - atMark), detail).toBeLessThanOrEqual(80);
      if (atMark - captureError - markMs <= 80) expect(Math.abs(shown! - captureError - markMs), detail).toBeLessThanOrEqual(80);
    }
  });

  it('follows docs/roles.md: exports for legal, the key for admin and legal, the scrub for admin only', async () => {
    const exportId = lastExportId;
    const routes: { method: string; path: string; body?: unknown; allowed: string[] }[] = [
      { method: 'POST', path: `/api/sessions/${sessionId}/exports`, body: { items: [29] }, allowed: ['legal'] },
      { method: 'GET', path: `/api/exports/${exportId}`, allowed: ['legal'] },
      { method: 'GET', path: `/api/exports/${exportId}/download`, allowed: ['legal'] },
      { method: 'GET', path: '/api/evidence/key', allowed: ['admin', 'legal'] },
      { method: 'POST', path: '/api/evidence/scrub', body: {}, allowed: ['admin'] },
    ];
    for (const role of ['admin', 'security', 'auditor', 'clerk', 'supervisor', 'legal']) {
      const client = new ApiClient(server.url);
      await client.login(role);
      for (const route of routes) {
        const { status } = await client.request(route.method, route.path, route.body);
        if (route.allowed.includes(role)) expect(status, `${role} ${route.method} ${route.path}`).not.toBe(403);
        else expect(status, `${role} ${route.method} ${route.path}`).toBe(403);
      }
    }
  });

  it('refuses clerks, unknown stages and traversal in export routes', async () => {
    expect((await clerk.post(`/api/sessions/${sessionId}/exports`, {})).status).toBe(403);
    expect((await legal.post(`/api/sessions/${sessionId}/exports`, { items: [29] })).status).toBe(400);
    for (const path of ['/api/exports/..%2F..%2Fhearing-recorder.db/download', '/api/exports/..%2Fkeys%2Fevidence-signing.key', '/api/exports/%2e%2e/download', '/api/exports/00000000-0000-4000-8000-000000000000/download']) {
      const status = (await legal.get(path)).status;
      expect([400, 404], path).toContain(status);
    }
    expect([400, 404]).toContain((await legal.post('/api/sessions/..%2F..%2Fetc/exports', {})).status);
  });
});

describe('verification', () => {
  it('the bundled verifier passes from the unpacked folder with plain node, anchored by --key', async () => {
    const { code, out } = await bundled(pkg, '--key', fingerprint);
    expect(out).toContain('RESULT: INTACT');
    expect(code, out).toBe(0);
  });

  it('without --key it says the key is unanchored and prints its fingerprint', async () => {
    const { code, out } = await bundled(pkg);
    expect(code, out).toBe(0);
    expect(out).toContain('UNANCHORED');
    expect(out.replace(/ /g, '')).toContain(fingerprint);
  });

  it('npx hearing-recorder verify passes on the zip, the folder, and the sealed session in the data dir', async () => {
    for (const target of [[zipFile], [pkg], ['--session', sessionId]]) {
      const { code, out } = await cli(...target!, '--key', fingerprint);
      expect(code, `${target}: ${out}`).toBe(0);
      expect(out).toContain('RESULT: INTACT');
    }
    expect((await cli(pkg)).out).toMatch(/working\/h1-wide\/stage-19\.mp4: [\d.]+ s, covers/);
  });

  it('unreadable input exits 2', async () => {
    expect((await cli(join(work, 'nothing-here.zip'))).code).toBe(2);
    const notZip = join(work, 'not-a.zip');
    writeFileSync(notZip, 'hello');
    expect((await cli(notZip)).code).toBe(2);
    expect((await bundled(pkg, join(work, 'empty-nothing'))).code).toBe(2);
  });

  const tampered = (name: string, damage: (dir: string) => void, expected: RegExp[]) =>
    it(`catches ${name} (exit 1, named), in the bundled verifier and the CLI`, async () => {
      const dir = copyOfPackage();
      damage(dir);
      for (const { code, out } of await Promise.all([bundled(dir, '--key', fingerprint), cli(dir, '--key', fingerprint)])) {
        expect(code, out).toBe(1);
        expect(out).toContain('RESULT: TAMPERED');
        for (const pattern of expected) expect(out).toMatch(pattern);
      }
    });

  tampered('one flipped byte in a segment', (d) => flipByte(join(d, 'original/h1-wide/000002.ts')), [
    /FAIL: changed: original\/h1-wide\/000002\.ts/,
    /FAIL: segment 2 of camera h1-wide .* does not match the manifest's hash/,
  ]);
  tampered('one flipped byte in the manifest', (d) => flipByte(join(d, 'manifest.json'), 200), [/FAIL: manifest\.json: the signature in manifest\.sig does not verify/, /FAIL: changed: manifest\.json/]);
  tampered('one flipped byte in a working copy', (d) => flipByte(join(d, 'working/h1-presiding/stage-19.mp4')), [/FAIL: changed: working\/h1-presiding\/stage-19\.mp4/]);
  tampered('one flipped byte in a body-camera file', (d) => flipByte(join(d, `imports/${bodyCamera.id}.mp4`)), [/FAIL: changed: imports\/imp-[0-9a-f]+\.mp4/]);
  tampered('a body-camera file swapped with its entries in the lists re-hashed but not re-signed', (d) => {
    const file = `imports/${bodyCamera.id}.mp4`;
    flipByte(join(d, file));
    const fresh = createHash('sha256').update(readFileSync(join(d, file))).digest('hex');
    const sums = join(d, 'SHA256SUMS');
    writeFileSync(sums, readFileSync(sums, 'utf8').replace(`${bodyCamera.sha256}  ${file}`, `${fresh}  ${file}`));
  }, [/FAIL: SHA256SUMS: the signature in SHA256SUMS\.sig does not verify/, new RegExp(`FAIL: imports/${'imp-[0-9a-f]+'}\\.mp4: listed with SHA-256 [0-9a-f]+, but body-camera file imp-[0-9a-f]+ was hashed [0-9a-f]+ on arrival`)]);
  tampered('a deleted segment', (d) => unlinkSync(join(d, 'original/h1-party/000003.ts')), [/FAIL: missing: original\/h1-party\/000003\.ts/]);
  tampered('two reordered segments', (d) => {
    const [a, b] = ['000002.ts', '000003.ts'].map((f) => join(d, 'original/h1-wide', f));
    renameSync(a!, `${a}.tmp`);
    renameSync(b!, a!);
    renameSync(`${a}.tmp`, b!);
  }, [/FAIL: reordered: original\/h1-wide\/000002\.ts holds segment 3/, /FAIL: reordered: original\/h1-wide\/000003\.ts holds segment 2/]);
  tampered('an extra file', (d) => writeFileSync(join(d, 'original/h1-wide/000099.ts'), 'extra'), [/FAIL: extra file: original\/h1-wide\/000099\.ts/]);
  tampered('a changed mark time in the records', (d) => {
    const file = join(d, 'marks.json');
    const marks = JSON.parse(readFileSync(file, 'utf8'));
    marks.marks[0].effectiveAt = new Date(Date.parse(marks.marks[0].effectiveAt) + 5000).toISOString();
    writeFileSync(file, `${JSON.stringify(marks, null, 2)}\n`);
  }, [/FAIL: changed: marks\.json/, /FAIL: marks\.json: its marks and corrections differ from the signed manifest/]);
  tampered('a changed mark time in the manifest', (d) => {
    const file = join(d, 'manifest.json');
    const text = readFileSync(file, 'utf8');
    const at = JSON.parse(text).marks[0].effectiveAt as string;
    writeFileSync(file, text.replace(at, new Date(Date.parse(at) + 5000).toISOString()));
  }, [/FAIL: manifest\.json: the signature in manifest\.sig does not verify/]);
  tampered('a segment from another session', (d) => {
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const other = db.prepare("SELECT file FROM segments WHERE session_id = ? AND camera_id = 'h1-wide' AND seq = 2").get(otherSessionId) as { file: string };
    db.close();
    const target = join(d, 'original/h1-wide/000002.ts');
    unlinkSync(target);
    cpSync(join(server.dataDir, other.file), target);
    chmodSync(target, 0o644);
  }, [/FAIL: segment 2 of camera h1-wide .* not this session's recording/]);

  it('catches a manifest re-signed with another key swapped into the package with --key, and reports it unanchored without', async () => {
    const d = copyOfPackage();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    // The forger moves stage 19 and makes everything consistent with the new key.
    const manifestFile = join(d, 'manifest.json');
    const text = readFileSync(manifestFile, 'utf8');
    const at = JSON.parse(text).marks[1].effectiveAt as string;
    const forged = text.replace(at, new Date(Date.parse(at) + 3000).toISOString());
    writeFileSync(manifestFile, forged);
    writeFileSync(join(d, 'manifest.sig'), sign(null, Buffer.from(forged), privateKey));
    writeFileSync(join(d, 'public-key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const marks = JSON.parse(readFileSync(join(d, 'marks.json'), 'utf8'));
    marks.marks = JSON.parse(forged).marks;
    writeFileSync(join(d, 'marks.json'), `${JSON.stringify(marks, null, 2)}\n`);
    const sums = readFileSync(join(d, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const name = line.slice(66);
        return `${createHash('sha256').update(readFileSync(join(d, name))).digest('hex')}  ${name}`;
      })
      .join('\n');
    writeFileSync(join(d, 'SHA256SUMS'), `${sums}\n`);
    writeFileSync(join(d, 'SHA256SUMS.sig'), sign(null, Buffer.from(`${sums}\n`), privateKey));
    const forgedFingerprint = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    for (const { code, out } of await Promise.all([bundled(d, '--key', fingerprint), cli(d, '--key', fingerprint)])) {
      expect(code, out).toBe(1);
      expect(out).toMatch(/FAIL: signed by another key/);
    }
    for (const { out } of await Promise.all([bundled(d), cli(d)])) {
      expect(out).toContain('UNANCHORED');
      expect(out.replace(/ /g, '')).toContain(forgedFingerprint);
      expect(out.replace(/ /g, '')).not.toContain(fingerprint);
    }
  });

  it('a single stage of one camera exports and verifies on its own', async () => {
    const exportId = await exportAndWait(sessionId, { items: [19], cameras: ['h1-wide'] });
    const zip = join(work, 'stage-19.zip');
    await download(exportId, zip);
    const { code, out } = await cli(zip, '--key', fingerprint);
    expect(code, out).toBe(0);
    const dir = join(work, 'stage-19');
    execFileSync('unzip', ['-q', zip, '-d', dir]);
    const index = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8'));
    expect(index.stages.map((s: any) => s.item)).toEqual([19]);
    expect(index.workingCopies.map((c: any) => c.file)).toEqual(['working/h1-wide/stage-19.mp4']);
    expect(index.originals.map((o: any) => o.cameraId)).toEqual(['h1-wide']);
  });
});

describe('integrity scrub', () => {
  it('finds a flipped byte in a stored segment and in a stored body-camera file on its schedule and on demand, alarms admins and supervisors, repairs nothing', async () => {
    const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true });
    const row = db.prepare("SELECT file, sha256 FROM segments WHERE session_id = ? AND camera_id = 'h1-party' AND seq = 2").get(sessionId) as { file: string; sha256: string };
    const imported = db.prepare('SELECT file, sha256 FROM imports WHERE id = ?').get(bodyCamera.id) as { file: string; sha256: string };
    db.close();
    const stored = join(server.dataDir, row.file);
    flipByte(stored); // root ignores the 0444 mode: bit rot or tampering outside the server
    flipByte(join(server.dataDir, imported.file));
    const damaged = readFileSync(stored);
    const both = (list: any[]) => list.at(-1)?.findings.length === 2;
    for (let i = 0; i < 60 && !(both(alarms.admin) && both(alarms.supervisor)); i++) await pause(250); // the scrub runs every 4 s
    const expected = [
      expect.objectContaining({ sessionId, path: row.file, problem: 'mismatch', expected: row.sha256 }),
      expect.objectContaining({ sessionId: null, importId: bodyCamera.id, path: imported.file, problem: 'mismatch', expected: imported.sha256 }),
    ];
    for (const list of [alarms.admin, alarms.supervisor]) expect(list.at(-1).findings).toEqual(expected);
    const now = (await admin.post('/api/evidence/scrub')).json;
    expect(now.findings).toEqual(expected);
    expect(now.checked).toBeGreaterThan(10);
    expect(readFileSync(stored).equals(damaged)).toBe(true);
    const auditor = new ApiClient(server.url);
    await auditor.login('auditor');
    const entries = (await auditor.get('/api/audit?limit=500')).json.entries as { action: string; target: string }[];
    expect(entries.some((e) => e.action === 'evidence.integrity_alarm' && e.target === sessionId)).toBe(true);
    expect(entries.some((e) => e.action === 'evidence.integrity_alarm' && e.target === bodyCamera.id)).toBe(true);
    // The offline verifier of the server's own data names it too.
    const { code, out } = await cli('--session', sessionId, '--key', fingerprint);
    expect(code, out).toBe(1);
    expect(out).toContain(`segment 2 of camera h1-party`);
  });
});
