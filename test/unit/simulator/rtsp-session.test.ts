import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { packetizeH264 } from '../../../server/src/simulator/rtsp/rtp-packetizer.ts';
import { RtpTrack, RtspSession } from '../../../server/src/simulator/rtsp/rtsp-session.ts';

/** A socket stand-in whose send buffer we fill by hand. */
function fakeSocket() {
  const writes: Buffer[] = [];
  const s = { writableLength: 0, destroyed: false, writable: true, cork() {}, uncork() {}, write: (b: Buffer) => writes.push(b) };
  return { socket: s as unknown as Socket, state: s, writes };
}

describe('RtspSession', () => {
  const nal = (type: number) => Buffer.from([type, 1, 2, 3]);

  it('starts video at a keyframe, interleaves RTP on its channel, and stamps RTP time from capture time', () => {
    const { socket, writes } = fakeSocket();
    let dropped = 0;
    const session = new RtspSession('main', socket, { udpRtp: null, udpRtcp: null, maxBufferedBytes: 1000, onDropped: (n) => (dropped += n) });
    const track = new RtpTrack(0, 96, 90_000, { kind: 'tcp', rtpChannel: 4, rtcpChannel: 5 });
    expect(session.sendFrame(track, packetizeH264([nal(0x41)]), 1000, false)).toBe(false);
    expect(writes).toHaveLength(0);
    expect(session.sendFrame(track, packetizeH264([nal(0x65)]), 1000, true)).toBe(true);
    expect(writes[0]!.subarray(0, 2)).toEqual(Buffer.from([0x24, 4]));
    expect(writes[0]!.readUInt16BE(2)).toBe(12 + 4);
    const header = writes[1]!;
    expect(header.readUInt32BE(4)).toBe((track.offset + 90_000) % 2 ** 32);
    expect(header[1]! & 0x80).toBe(0x80);
    expect(dropped).toBe(0);
  });

  it('drops whole frames for a TCP client whose socket buffer is over the bound, then resumes at a keyframe', () => {
    const { socket, state, writes } = fakeSocket();
    let dropped = 0;
    const session = new RtspSession('main', socket, { udpRtp: null, udpRtcp: null, maxBufferedBytes: 1000, onDropped: (n) => (dropped += n) });
    const track = new RtpTrack(0, 96, 90_000, { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 });
    expect(session.sendFrame(track, packetizeH264([nal(0x65)]), 0, true)).toBe(true);
    const seqAfterKey = track.seq;
    state.writableLength = 5000;
    expect(session.sendFrame(track, packetizeH264([nal(0x41)]), 40, false)).toBe(false);
    expect(dropped).toBe(1);
    state.writableLength = 0;
    // Buffer drained, but a P-frame after a gap would not decode: wait for the keyframe.
    expect(session.sendFrame(track, packetizeH264([nal(0x41)]), 80, false)).toBe(false);
    expect(session.sendFrame(track, packetizeH264([nal(0x65)]), 120, true)).toBe(true);
    // Dropped frames consume no sequence numbers: the receiver sees a clean stream.
    expect(track.seq).toBe((seqAfterKey + 1) & 0xffff);
    expect(writes.length).toBe(2 * 3); // two frames, each: interleave prefix, RTP header, payload
  });
});
