import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

const TS_PACKET = 188;

export interface SegmentFileFacts {
  bytes: number;
  sha256: string;
  /** Whole 188-byte packets, each starting with the 0x47 sync byte. */
  wellFormed: boolean;
}

/** Reads a closed MPEG-TS segment once: its size, SHA-256 and whether it is whole TS packets. */
export async function readSegmentFile(file: string): Promise<SegmentFileFacts> {
  const hash = createHash('sha256');
  let bytes = 0;
  let wellFormed = true;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    // Check sync bytes of the packets that start in this chunk.
    const first = (TS_PACKET - (bytes % TS_PACKET)) % TS_PACKET;
    for (let i = first; i < chunk.length; i += TS_PACKET) if (chunk[i] !== 0x47) wellFormed = false;
    bytes += chunk.length;
  }
  if (bytes === 0 || bytes % TS_PACKET !== 0) wellFormed = false;
  return { bytes, sha256: hash.digest('hex'), wellFormed };
}

/** True while process `pid` holds `file` open (Linux /proc); false when it does not or is gone. */
export async function isOpenBy(pid: number, file: string): Promise<boolean> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if ((await readlink(`/proc/${pid}/fd/${fd}`)) === file) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

/**
 * ffmpeg's segment muxer prints the list entry just before it closes the file: wait (bounded) until
 * the writer no longer holds it open.
 */
export async function waitUntilClosed(pid: number | undefined, file: string, timeoutMs = 3000): Promise<boolean> {
  if (pid === undefined) return true;
  const until = Date.now() + timeoutMs;
  while (await isOpenBy(pid, file)) {
    if (Date.now() > until) return false;
    await delay(15);
  }
  return true;
}

/** `seg-0000000042.ts` → 42. */
export const SEGMENT_NAME = /^seg-(\d{10})\.ts$/;
export const segmentName = (seq: number): string => `seg-${String(seq).padStart(10, '0')}.ts`;
export function seqOf(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? Number(m[1]) : null;
}
