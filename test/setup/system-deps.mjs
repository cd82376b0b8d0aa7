#!/usr/bin/env node
// Makes sure the system packages the test suite drives for real are present: ffmpeg, Debian's
// Chromium, GStreamer's RTSP server (the interop peer, run by /usr/bin/python3) and CJK fonts for
// readable screenshots. As root on Debian it installs what is missing; otherwise it stops and names
// the exact apt-get line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PACKAGES = [
  'ffmpeg',
  'chromium',
  'fonts-noto-cjk',
  'python3-gi',
  'gir1.2-gst-rtsp-server-1.0',
  'gstreamer1.0-tools',
  'gstreamer1.0-plugins-base',
  'gstreamer1.0-plugins-good',
  'gstreamer1.0-plugins-bad',
  'gstreamer1.0-plugins-ugly',
  'gstreamer1.0-libav',
  'openssl',
  'util-linux',
];

function installed(pkg) {
  const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.includes('install ok installed');
}

if (!existsSync('/usr/bin/dpkg-query')) {
  const missing = ['ffmpeg', 'chromium', 'python3'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length > 0) {
    console.error(`The test suite needs ${missing.join(', ')} and GStreamer's RTSP server; this is not Debian, so install them with your package manager.`);
    process.exit(1);
  }
  process.exit(0);
}

const missing = PACKAGES.filter((pkg) => !installed(pkg));
if (missing.length === 0) process.exit(0);

const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  console.error(`The test suite needs system packages that are missing. Install them as root:\n\n  apt-get update && ${line}\n`);
  process.exit(1);
}
console.error(`Installing missing system packages: ${missing.join(' ')}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
try {
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
} catch {
  console.error(`Installing failed. Run it by hand and look at apt's message:\n\n  apt-get update && ${line}\n`);
  process.exit(1);
}
const still = missing.filter((pkg) => !installed(pkg));
if (still.length > 0) {
  console.error(`Still missing after install: ${still.join(' ')}`);
  process.exit(1);
}
