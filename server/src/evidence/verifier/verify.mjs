#!/usr/bin/env node
// hearing-recorder evidence verifier · 听证音像证据校验程序
//
// Checks an unpacked evidence package (or a sealed session directory of the server) with nothing but
// Node.js (>= 18) and its built-in modules: no network, no server, no database, no other file.
//
//   node verify.mjs [DIR] [--key FINGERPRINT]
//
// Exit codes: 0 intact; 1 tampered, or signed by another key than --key (each failure is named);
// 2 unreadable (no such directory, not an evidence package).
//
// Order of the checks: the Ed25519 signature over manifest.json's raw bytes first, then the signed
// file list (SHA256SUMS), every hash, every hash chain, that nothing is missing, extra or reordered,
// that the package's own records agree with the signed manifest, and that each working copy covers
// the stated range (with ffprobe, when one is on PATH or in FFPROBE_PATH; skipped and said otherwise).
// The hearing-recorder server runs this very file for `npx hearing-recorder verify`.

import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const MANIFEST = 'manifest.json';
export const MANIFEST_SIG = 'manifest.sig';
export const PUBLIC_KEY = 'public-key.pem';
export const SUMS = 'SHA256SUMS';
export const SUMS_SIG = 'SHA256SUMS.sig';
export const EXPORT_INDEX = 'export.json';
/** Present only when the key signing the package differs from the one that sealed the manifest (a rotation since). */
export const EXPORT_KEY = 'export-key.pem';

/**
 * The fingerprint of an Ed25519 public key: SHA-256 of its DER SubjectPublicKeyInfo, in hex, as
 * `openssl pkey -pubin -in public-key.pem -outform DER | sha256sum` prints it.
 */
export function keyFingerprint(publicKeyPem) {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** The fingerprint as printed for people: 64 hex digits in groups of four. */
export const formatFingerprint = (hex) => hex.replace(/(.{4})(?=.)/g, '$1 ');

const normaliseFingerprint = (text) => text.replace(/[\s:]/g, '').toLowerCase();

/** Whether `signature` (raw 64 bytes) is an Ed25519 signature of `data` by `publicKeyPem`. */
export function signatureValid(publicKeyPem, data, signature) {
  try {
    return verifySignature(null, data, createPublicKey(publicKeyPem), signature);
  } catch {
    return false;
  }
}

/**
 * Read in 1 MiB blocks, synchronously: a verifier has nothing else to do meanwhile, and this hashes
 * about twice as fast as a read stream's 64 KiB chunks (bench:replay).
 */
const HASH_BLOCK = Buffer.allocUnsafe(1 << 20);
async function sha256File(path) {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    let n;
    while ((n = readSync(fd, HASH_BLOCK, 0, HASH_BLOCK.length, null)) > 0) hash.update(HASH_BLOCK.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Every regular file under dir, as relative paths with forward slashes, sorted. */
function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

const segmentName = (seq) => `${String(seq).padStart(6, '0')}.ts`;

/** Parses `sha256sum` output lines: `<64 hex>  <path>` (or ` *<path>` for binary mode). */
function parseSums(text) {
  const entries = [];
  const bad = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) entries.push({ sha256: m[1], path: m[2] });
    else bad.push(i + 1);
  }
  return { entries, bad };
}

function readJson(path, fail, label) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    fail(`${label}: cannot be read as JSON (${err.message})`);
    return null;
  }
}

const sameJson = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** ffprobe's answer for a file's first video stream, or null when there is no ffprobe. */
function probeVideo(ffprobe, path) {
  const run = spawnSync(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=duration,r_frame_rate,avg_frame_rate:format=duration', '-of', 'json', path], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (run.error) return { missing: run.error.code === 'ENOENT', error: run.error.message };
  if (run.status !== 0) return { error: (run.stderr || '').trim().split('\n').slice(-1)[0] || `exit ${run.status}` };
  try {
    const json = JSON.parse(run.stdout);
    const stream = json.streams?.[0];
    if (!stream) return { error: 'no video stream' };
    const rate = (text) => {
      const [n, d] = String(text ?? '0/0').split('/').map(Number);
      return n > 0 && d > 0 ? n / d : 0;
    };
    return { durationS: Number(stream.duration ?? json.format?.duration), fps: rate(stream.avg_frame_rate) || rate(stream.r_frame_rate) || 25 };
  } catch (err) {
    return { error: err.message };
  }
}

/**
 * Verifies a directory: an unpacked export package (it has SHA256SUMS) or a sealed session
 * directory of the server (manifest.json beside one folder of segments per camera).
 * Resolves to `{ code, lines }`: the exit code and what to print.
 */
export async function verifyDirectory(dir, options = {}) {
  const lines = [];
  const failures = [];
  const notes = [];
  const fail = (text) => failures.push(text);
  const root = resolve(dir);
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    return { code: 2, lines: [`UNREADABLE: ${dir} does not exist or cannot be read`], failures };
  }
  if (!rootStat.isDirectory()) return { code: 2, lines: [`UNREADABLE: ${dir} is not a directory`], failures };
  let files;
  try {
    files = listFiles(root);
  } catch (err) {
    return { code: 2, lines: [`UNREADABLE: ${dir}: ${err.message}`], failures };
  }
  const isPackage = files.includes(SUMS) || files.includes(EXPORT_INDEX);
  if (!isPackage && !files.includes(MANIFEST)) {
    return { code: 2, lines: [`UNREADABLE: ${dir} holds no ${MANIFEST} and no ${SUMS}: it is not an evidence package or a sealed session`], failures };
  }
  const at = (name) => join(root, ...name.split('/'));
  lines.push(`${isPackage ? 'Evidence package' : 'Sealed session directory'}: ${root}`);

  // 1. The key and the signature over the manifest's raw bytes.
  let publicKey = null;
  let fingerprint = null;
  if (!files.includes(PUBLIC_KEY)) fail(`missing: ${PUBLIC_KEY} (the signing key)`);
  else {
    publicKey = readFileSync(at(PUBLIC_KEY), 'utf8');
    try {
      fingerprint = keyFingerprint(publicKey);
    } catch (err) {
      fail(`${PUBLIC_KEY}: not an Ed25519 public key (${err.message})`);
      publicKey = null;
    }
  }
  if (fingerprint) {
    if (options.key) {
      if (normaliseFingerprint(options.key) === fingerprint) lines.push(`Signing key: ${formatFingerprint(fingerprint)} (matches --key)`);
      else fail(`signed by another key: ${PUBLIC_KEY} has fingerprint ${formatFingerprint(fingerprint)}, --key expects ${formatFingerprint(normaliseFingerprint(options.key))}`);
    } else {
      lines.push(`Signing key UNANCHORED: fingerprint ${formatFingerprint(fingerprint)}`);
      lines.push('  Compare it with the fingerprint printed on the seal certificate, or run again with --key FINGERPRINT.');
    }
  }
  let manifestBytes = null;
  if (!files.includes(MANIFEST)) fail(`missing: ${MANIFEST}`);
  else manifestBytes = readFileSync(at(MANIFEST));
  if (!files.includes(MANIFEST_SIG)) fail(`missing: ${MANIFEST_SIG} (the manifest's signature)`);
  else if (manifestBytes && publicKey) {
    if (signatureValid(publicKey, manifestBytes, readFileSync(at(MANIFEST_SIG)))) lines.push(`Signature over ${MANIFEST}: valid`);
    else fail(`${MANIFEST}: the signature in ${MANIFEST_SIG} does not verify (the manifest or its signature was changed)`);
  }
  let manifest = null;
  if (manifestBytes) {
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8'));
    } catch (err) {
      fail(`${MANIFEST}: not valid JSON (${err.message})`);
    }
  }

  // 2. The signed file list of a package: every file listed, hashed, nothing extra.
  const expectedFiles = new Map();
  if (isPackage) {
    if (!files.includes(SUMS)) fail(`missing: ${SUMS} (the package's file list)`);
    else {
      const sumsBytes = readFileSync(at(SUMS));
      // After a key rotation the package is signed by the current key, given as export-key.pem.
      let sumsKey = publicKey;
      if (files.includes(EXPORT_KEY)) {
        sumsKey = readFileSync(at(EXPORT_KEY), 'utf8');
        try {
          lines.push(`Package signed by a later key (rotation since the seal): ${EXPORT_KEY} fingerprint ${formatFingerprint(keyFingerprint(sumsKey))}`);
        } catch (err) {
          fail(`${EXPORT_KEY}: not an Ed25519 public key (${err.message})`);
          sumsKey = null;
        }
      }
      if (!files.includes(SUMS_SIG)) fail(`missing: ${SUMS_SIG} (the file list's signature)`);
      else if (sumsKey) {
        if (signatureValid(sumsKey, sumsBytes, readFileSync(at(SUMS_SIG)))) lines.push(`Signature over ${SUMS}: valid`);
        else fail(`${SUMS}: the signature in ${SUMS_SIG} does not verify (the file list or its signature was changed)`);
      }
      const { entries, bad } = parseSums(sumsBytes.toString('utf8'));
      for (const line of bad) fail(`${SUMS}: line ${line} is not "<sha256>  <file>"`);
      for (const e of entries) expectedFiles.set(e.path, e.sha256);
    }
  }

  // 3. The manifest's own chains: per camera, seq 1, 2, … each linked to the one before.
  const cameras = Array.isArray(manifest?.cameras) ? manifest.cameras : [];
  if (manifest && !Array.isArray(manifest.cameras)) fail(`${MANIFEST}: has no camera list`);
  const bySha = new Map();
  for (const camera of cameras) {
    const segments = Array.isArray(camera.segments) ? camera.segments : [];
    segments.forEach((s, i) => {
      bySha.set(s.sha256, { cameraId: camera.cameraId, seq: s.seq });
      if (s.seq !== i + 1) fail(`${MANIFEST}: camera ${camera.cameraId}: segment at position ${i + 1} has number ${s.seq}`);
      const prev = i === 0 ? null : segments[i - 1].sha256;
      if ((s.prevSha256 ?? null) !== prev) fail(`${MANIFEST}: camera ${camera.cameraId}: the chain breaks at segment ${s.seq}`);
    });
  }
  const segmentOf = (cameraId, seq) => cameras.find((c) => c.cameraId === cameraId)?.segments?.find((s) => s.seq === seq) ?? null;

  // 4. Which segments must be here: the export's selection, or every segment of a sealed session.
  let index = null;
  const wanted = []; // { cameraId, seq, path }
  if (isPackage) {
    if (!files.includes(EXPORT_INDEX)) fail(`missing: ${EXPORT_INDEX} (what the package holds)`);
    else index = readJson(at(EXPORT_INDEX), fail, EXPORT_INDEX);
    if (index && manifest && index.sessionId !== manifest.session?.id) fail(`${EXPORT_INDEX}: session ${index.sessionId} is not the manifest's session ${manifest.session?.id}`);
    for (const camera of index?.originals ?? []) {
      let previous = null;
      for (const seq of camera.segments ?? []) {
        if (previous !== null && seq !== previous + 1) fail(`${EXPORT_INDEX}: camera ${camera.cameraId}: segments ${previous} and ${seq} are not consecutive (a segment left out)`);
        previous = seq;
        wanted.push({ cameraId: camera.cameraId, seq, path: `original/${camera.cameraId}/${segmentName(seq)}` });
      }
    }
  } else {
    for (const camera of cameras) for (const s of camera.segments ?? []) wanted.push({ cameraId: camera.cameraId, seq: s.seq, path: `${camera.cameraId}/${segmentName(s.seq)}` });
  }

  // 5. Hash every file once.
  const actual = new Map();
  const hashOf = async (path) => {
    if (!actual.has(path)) actual.set(path, files.includes(path) ? await sha256File(at(path)) : null);
    return actual.get(path);
  };
  let checked = 0;
  for (const [path, sha256] of expectedFiles) {
    const got = await hashOf(path);
    checked++;
    if (got === null) fail(`missing: ${path} (listed in ${SUMS})`);
    else if (got !== sha256) fail(`changed: ${path} (its SHA-256 ${got} is not the ${sha256} listed in ${SUMS})`);
  }
  for (const w of wanted) {
    const expected = segmentOf(w.cameraId, w.seq);
    const got = await hashOf(w.path);
    if (!expectedFiles.has(w.path)) checked++;
    if (!expected) {
      fail(`${w.path}: the manifest has no segment ${w.seq} of camera ${w.cameraId}`);
      continue;
    }
    if (got === null) {
      if (!isPackage || !expectedFiles.has(w.path)) fail(`missing: ${w.path} (segment ${w.seq} of camera ${w.cameraId})`);
      continue;
    }
    if (got === expected.sha256) continue;
    const other = bySha.get(got);
    if (other) fail(`reordered: ${w.path} holds segment ${other.seq} of camera ${other.cameraId}, not segment ${w.seq} of ${w.cameraId}`);
    else fail(`segment ${w.seq} of camera ${w.cameraId} (${w.path}) does not match the manifest's hash: not this session's recording`);
  }
  // Body-camera files of the case: each listed with the hash it was given on arrival.
  for (const imported of isPackage ? (index?.imports ?? []) : []) {
    const listed = expectedFiles.get(imported.file);
    if (listed === undefined) fail(`missing: ${imported.file} (body-camera file ${imported.id}, named in ${EXPORT_INDEX})`);
    else if (listed !== imported.sha256) fail(`${imported.file}: listed with SHA-256 ${listed}, but body-camera file ${imported.id} was hashed ${imported.sha256} on arrival`);
  }
  // The chain over the files as they are: each file's hash is what its successor links to.
  for (const camera of cameras) {
    const mine = wanted.filter((w) => w.cameraId === camera.cameraId);
    for (let i = 1; i < mine.length; i++) {
      const linked = segmentOf(camera.cameraId, mine[i].seq)?.prevSha256;
      const before = actual.get(mine[i - 1].path);
      if (linked && before && linked !== before) fail(`chain broken: ${mine[i].path} does not follow ${mine[i - 1].path}`);
    }
  }
  // Nothing extra: a package holds its list and the list's signature beside what the list names;
  // a session directory holds its manifest, signature and key beside its segments.
  const allowed = new Set(isPackage ? [...expectedFiles.keys(), SUMS, SUMS_SIG] : [MANIFEST, MANIFEST_SIG, PUBLIC_KEY, ...wanted.map((w) => w.path)]);
  for (const file of files) if (!allowed.has(file)) fail(`extra file: ${file} (not part of the ${isPackage ? 'package' : 'sealed session'})`);

  // 6. The package's records against the signed manifest.
  if (isPackage && manifest && index) {
    const records = [
      ['marks.json', (j) => sameJson(j?.marks, manifest.marks) && sameJson(j?.corrections, manifest.corrections), 'marks and corrections'],
      ['interruptions.json', (j) => sameJson(j, manifest.interruptions), 'interruptions and explanations'],
      ['chains.json', (j) => sameJson(j, cameras.map((c) => ({ cameraId: c.cameraId, chain: (c.segments ?? []).map((s) => ({ seq: s.seq, sha256: s.sha256, prevSha256: s.prevSha256 })) }))), 'hash chains'],
    ];
    for (const [name, agrees, what] of records) {
      if (!files.includes(name)) continue; // reported above when listed
      const json = readJson(at(name), fail, name);
      if (json !== null && !agrees(json)) fail(`${name}: its ${what} differ from the signed manifest`);
    }
    // Every stage boundary is a mark (as corrected) or the session's start or end.
    const instants = new Set([manifest.session?.startedAt, manifest.session?.endedAt, ...(manifest.marks ?? []).map((m) => m.effectiveAt), ...(manifest.corrections ?? []).map((c) => c.at)].filter(Boolean));
    for (const stage of index.stages ?? []) {
      for (const edge of [stage.from, stage.to]) if (!instants.has(edge)) fail(`${EXPORT_INDEX}: stage ${stage.item} boundary ${edge} is no mark or session bound of the manifest`);
    }
    // The originals of each camera cover the stages chosen.
    for (const camera of index.originals ?? []) {
      const seqs = camera.segments ?? [];
      const first = segmentOf(camera.cameraId, seqs[0]);
      const last = segmentOf(camera.cameraId, seqs.at(-1));
      if (!first || !last) continue;
      for (const stage of index.stages ?? []) {
        if (Date.parse(first.startedAt) > Date.parse(stage.from) + 1 || Date.parse(last.endedAt) < Date.parse(stage.to) - 1) {
          const missing = cameras.find((c) => c.cameraId === camera.cameraId)?.segments?.some((s) => Date.parse(s.endedAt) > Date.parse(stage.from) && Date.parse(s.startedAt) < Date.parse(stage.to) && !seqs.includes(s.seq));
          if (missing) fail(`original/${camera.cameraId}: the segments do not cover stage ${stage.item} (${stage.from} – ${stage.to}): some are left out`);
        }
      }
    }
    // 7. Working copies cover the stated range.
    const ffprobe = options.ffprobe ?? process.env.FFPROBE_PATH ?? 'ffprobe';
    let probeMissing = false;
    for (const copy of index.workingCopies ?? []) {
      if (!files.includes(copy.file) || probeMissing) continue;
      const stated = (Date.parse(copy.to) - Date.parse(copy.from)) / 1000;
      if (Math.abs(stated - copy.durationS) > 0.002) fail(`${EXPORT_INDEX}: ${copy.file} states ${copy.durationS} s for a range of ${stated} s`);
      const probe = probeVideo(ffprobe, at(copy.file));
      if (probe.missing) {
        probeMissing = true;
        notes.push(`working copies: duration check SKIPPED, no ffprobe on PATH (set FFPROBE_PATH); their hashes were checked`);
        continue;
      }
      if (probe.error) {
        fail(`${copy.file}: unreadable by ffprobe (${probe.error})`);
        continue;
      }
      const tolerance = 2 / probe.fps + 0.001;
      if (!(Math.abs(probe.durationS - copy.durationS) <= tolerance)) {
        fail(`${copy.file}: lasts ${probe.durationS.toFixed(3)} s, not the stated ${copy.durationS.toFixed(3)} s (${copy.from} – ${copy.to}) within two frames`);
      } else notes.push(`${copy.file}: ${probe.durationS.toFixed(3)} s, covers ${copy.from} – ${copy.to}`);
    }
  }

  lines.push(`Files checked: ${checked}`);
  for (const note of notes) lines.push(`Note: ${note}`);
  for (const failure of failures) lines.push(`FAIL: ${failure}`);
  if (failures.length === 0) lines.push(fingerprint && !options.key ? 'RESULT: INTACT (the signing key is unanchored: compare its fingerprint above)' : 'RESULT: INTACT');
  else lines.push(`RESULT: TAMPERED (${failures.length} failure${failures.length === 1 ? '' : 's'})`);
  return { code: failures.length === 0 ? 0 : 1, lines, failures, fingerprint };
}

const USAGE = 'Usage: node verify.mjs [DIR] [--key FINGERPRINT]   (DIR: the unpacked package, default: this file\'s folder)';

async function main(argv) {
  let dir = null;
  let key = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--key') key = argv[++i] ?? null;
    else if (argv[i].startsWith('--key=')) key = argv[i].slice(6);
    else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(USAGE);
      return 0;
    } else if (dir === null) dir = argv[i];
    else {
      console.error(USAGE);
      return 2;
    }
  }
  if (key !== null && !/^[0-9a-f]{64}$/.test(normaliseFingerprint(key))) {
    console.error(`--key expects the 64 hex digits of a key fingerprint (spaces and colons allowed)\n${USAGE}`);
    return 2;
  }
  dir ??= fileURLToPath(new URL('.', import.meta.url));
  const { code, lines } = await verifyDirectory(dir, { key });
  for (const line of lines) console.log(line);
  return code;
}

if (process.argv[1] && existsSync(process.argv[1]) && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`UNREADABLE: ${err.stack ?? err}`);
      process.exitCode = 2;
    },
  );
}
