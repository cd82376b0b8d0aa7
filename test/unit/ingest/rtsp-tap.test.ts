import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RtspTap } from '../../../server/src/ingest/rtsp-tap.ts';
import { silentLogger } from '../../../server/src/shared/logger.ts';

// The relay between ffmpeg and a camera must hand ffmpeg every camera RTP packet exactly once and
// byte for byte, whatever the TCP read boundaries: a unit duplicated or cut there corrupts the
// recorded video and makes ffmpeg scan the stream byte by byte for the next '$'.

const SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=cam', 't=0 0',
  'm=video 0 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'a=control:track1',
  'm=audio 0 RTP/AVP 97', 'a=rtpmap:97 MPEG4-GENERIC/48000/1', 'a=control:track2', '',
].join('\r\n');
const NTP_EPOCH_OFFSET_S = 2_208_988_800;
const T0_MS = Date.parse('2026-12-05T02:00:00.000Z');

/** A deterministic pseudo-random sequence (the chunking must be reproducible). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function interleaved(channel: number, payload: Buffer): Buffer {
  const head = Buffer.from([0x24, channel, 0, 0]);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

function rtp(pt: number, seq: number, ts: number, ssrc: number, marker: boolean, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | pt;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

function senderReport(ssrc: number, ntpMs: number, rtpTs: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  const secs = Math.floor(ntpMs / 1000);
  b.writeUInt32BE(secs + NTP_EPOCH_OFFSET_S, 8);
  b.writeUInt32BE(Math.round(((ntpMs - secs * 1000) / 1000) * 2 ** 32) >>> 0, 12);
  b.writeUInt32BE(rtpTs >>> 0, 16);
  return b;
}

/** The media a camera sends after PLAY: sender reports, then video and audio RTP interleaved. */
function cameraMedia(random: () => number): { units: Buffer[]; rtpUnits: Buffer[] } {
  const units: Buffer[] = [interleaved(1, senderReport(0xa1, T0_MS, 9000)), interleaved(3, senderReport(0xb2, T0_MS, 4800))];
  const rtpUnits: Buffer[] = [];
  let videoSeq = 100;
  let audioSeq = 500;
  for (let frame = 0; frame < 60; frame++) {
    const videoTs = 9000 + frame * 3600;
    const packets = 1 + Math.floor(random() * 8);
    for (let p = 0; p < packets; p++) {
      const payload = Buffer.alloc(200 + Math.floor(random() * 1200), 0x24); // '$' inside payloads too
      payload[0] = p === 0 && frame % 25 === 0 ? 0x65 : 0x41;
      const u = interleaved(0, rtp(96, videoSeq++, videoTs, 0xa1, p === packets - 1, payload));
      units.push(u);
      rtpUnits.push(u);
    }
    if (frame % 2 === 0) {
      const u = interleaved(2, rtp(97, audioSeq++, 4800 + frame * 1920, 0xb2, true, Buffer.alloc(180, frame)));
      units.push(u);
      rtpUnits.push(u);
    }
    if (frame === 30) units.push(interleaved(1, senderReport(0xa1, T0_MS + 1200, 9000 + 30 * 3600)));
  }
  return { units, rtpUnits };
}

/** A scripted RTSP camera: canned replies, then the media cut into writes of random size. */
function startCamera(units: Buffer[], random: () => number): Promise<Server> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      let end: number;
      while ((end = text.indexOf('\r\n\r\n')) >= 0) {
        const head = text.slice(0, end);
        text = text.slice(end + 4);
        const cseq = /CSeq:\s*(\d+)/i.exec(head)?.[1] ?? '0';
        const method = head.split(' ')[0];
        if (method === 'DESCRIBE') {
          socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`);
        } else if (method === 'SETUP') {
          const transport = /Transport:\s*([^\r\n]*)/i.exec(head)?.[1] ?? '';
          socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 42\r\nTransport: ${transport}\r\n\r\n`);
        } else if (method === 'PLAY') {
          socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nSession: 42\r\n\r\n`);
          void writeInPieces(socket, units, random);
        } else socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n\r\n`);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Writes that end on a unit boundary half the time (as a camera's do) and anywhere otherwise. */
async function writeInPieces(socket: Socket, units: Buffer[], random: () => number): Promise<void> {
  const media = Buffer.concat(units);
  const boundaries: number[] = [];
  let at = 0;
  for (const u of units) boundaries.push((at += u.length));
  for (let off = 0; off < media.length && !socket.destroyed; ) {
    let end = Math.min(media.length, off + 1 + Math.floor(random() * 3000));
    if (random() < 0.5) end = boundaries.find((b) => b >= end) ?? media.length;
    socket.write(media.subarray(off, end));
    off = end;
    // A pause between writes makes the relay's reads end at these points.
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Plays ffmpeg's side of the handshake through the relay and collects what the relay sends on. */
async function playThroughRelay(tapPort: number, expectedBytes: number): Promise<Buffer> {
  const socket = connect(tapPort, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  let total = 0;
  let pendingReply: ((head: string) => void) | null = null;
  let text = '';
  let streaming = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      if (streaming) {
        received.push(chunk);
        total += chunk.length;
        if (total >= expectedBytes) resolve();
        return;
      }
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = text.slice(0, end);
      const len = Number(/Content-Length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length < end + 4 + len) return;
      const rest = Buffer.from(text.slice(end + 4 + len), 'latin1');
      text = '';
      if (head.startsWith('RTSP/1.0 200') && /CSeq: 5\b/.test(head)) {
        streaming = true;
        if (rest.length) {
          received.push(rest);
          total += rest.length;
        }
      }
      const reply = pendingReply;
      pendingReply = null;
      reply?.(head);
    });
  });
  const request = (line: string, cseq: number, extra = ''): Promise<string> =>
    new Promise((resolve) => {
      pendingReply = resolve;
      socket.write(`${line} RTSP/1.0\r\nCSeq: ${cseq}\r\n${extra}\r\n`);
    });
  const base = `rtsp://127.0.0.1:${tapPort}/main`;
  await request(`OPTIONS ${base}`, 1);
  await request(`DESCRIBE ${base}`, 2, 'Accept: application/sdp\r\n');
  await request(`SETUP ${base}/track1`, 3, 'Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n');
  await request(`SETUP ${base}/track2`, 4, 'Transport: RTP/AVP/TCP;unicast;interleaved=2-3\r\nSession: 42\r\n');
  await request(`PLAY ${base}`, 5, 'Session: 42\r\n');
  await done;
  socket.destroy();
  return Buffer.concat(received);
}

/** Splits the relayed media into interleaved units; anything else in it is a framing error. */
function unitsOf(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < stream.length) {
    if (stream[off] !== 0x24) throw new Error(`byte ${off} of the relayed media is not the start of an interleaved unit`);
    const len = stream.readUInt16BE(off + 2);
    out.push(stream.subarray(off, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe('RtspTap relay', () => {
  it.each([1, 2, 3])('hands on every camera RTP packet once, byte for byte, whatever the read boundaries (seed %i)', async (seed) => {
    const random = prng(seed);
    const { units, rtpUnits } = cameraMedia(random);
    const media = Buffer.concat(units);
    const camera = await startCamera(units, random);
    cleanup.push(() => new Promise((r) => camera.close(() => r())));
    const address = camera.address();
    const tap = new RtspTap({
      host: '127.0.0.1',
      port: typeof address === 'object' && address ? address.port : 0,
      log: silentLogger(),
      senderReportWaitMs: 5000,
    });
    cleanup.push(() => tap.close());
    const anchor = once(tap, 'anchor');
    tap.expect('127.0.0.1');
    const port = await tap.listen();

    // What the relay adds: one synthetic sender report per stream and one primer per stream.
    const primerBytes = 4 + 12 + 4 + (4 + 12 + 180);
    const stream = await playThroughRelay(port, media.length + 2 * 32 + primerBytes);
    expect((await anchor)[0]).toMatchObject({ source: 'rtcp', ptsZeroMs: T0_MS });

    const relayed = unitsOf(stream);
    const relayedRtp = relayed.filter((u) => u[1] === 0 || u[1] === 2);
    const primers = relayedRtp.filter((u) => !rtpUnits.some((r) => r.equals(u)));
    expect(primers.map((u) => [u[1], u.readUInt16BE(6)])).toEqual([
      [0, 99],
      [2, 499],
    ]);
    expect(relayedRtp.filter((u) => !primers.includes(u))).toEqual(rtpUnits);
  });
});
