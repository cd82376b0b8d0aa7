import { describe, expect, it } from 'vitest';
import { aacAccessUnits, adtsHeader, cameraAudio } from '../../../server/src/live/live-audio.ts';
import { isLoopback, keepLoopbackCandidates, nalTypes, parameterSets } from '../../../server/src/live/webrtc-worker.ts';

const SDP = [
  'v=0',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1;profile-level-id=64001f;sprop-parameter-sets=Z2QAH6zZQFAFuwEQAAADABAAAAMDIPGDGWA=,aOvjyyLA',
  'a=control:trackID=0',
  'm=audio 0 RTP/AVP 97',
  'a=rtpmap:97 mpeg4-generic/48000/2',
  'a=fmtp:97 streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190',
  'a=control:trackID=1',
  '',
].join('\r\n');

describe('H.264 RTP payloads', () => {
  it('names the NAL units of single, STAP-A and FU-A start payloads, and nothing for an FU-A continuation', () => {
    expect(nalTypes(Buffer.from([0x65, 0x88]))).toEqual([5]);
    expect(nalTypes(Buffer.from([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]))).toEqual([7, 8]);
    expect(nalTypes(Buffer.from([0x7c, 0x85, 0x00]))).toEqual([5]);
    expect(nalTypes(Buffer.from([0x7c, 0x05, 0x00]))).toEqual([]);
    expect(nalTypes(Buffer.alloc(0))).toEqual([]);
  });

  it("reads SPS and PPS from the camera's sprop-parameter-sets", () => {
    const [sps, pps] = parameterSets(SDP);
    expect(sps![0]! & 0x1f).toBe(7);
    expect(pps![0]! & 0x1f).toBe(8);
    expect(parameterSets('v=0\r\nm=video 0 RTP/AVP 96\r\n')).toEqual([]);
  });
});

describe('loopback-only ICE', () => {
  it('keeps loopback candidates of an answer and drops the rest, mDNS names included', () => {
    const answer = [
      'v=0',
      'a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host',
      'a=candidate:2 1 udp 2113937151 192.0.2.7 50001 typ host',
      'a=candidate:3 1 udp 2113937151 0b1c2d3e.local 50002 typ host',
      'a=candidate:4 1 udp 2113937151 ::1 50003 typ host',
      'a=end-of-candidates',
    ].join('\r\n');
    expect(keepLoopbackCandidates(answer).split('\r\n')).toEqual([
      'v=0',
      'a=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host',
      'a=candidate:4 1 udp 2113937151 ::1 50003 typ host',
      'a=end-of-candidates',
    ]);
    expect(isLoopback('127.0.0.11')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });
});

describe('camera audio for the Opus transcoder', () => {
  it('reads AAC-hbr and G.711 tracks and ignores what it cannot transcode', () => {
    expect(cameraAudio(SDP)).toEqual({ codec: 'aac', payloadType: 97, config: Buffer.from([0x11, 0x90]), sizeLength: 13, indexLength: 3 });
    expect(cameraAudio('v=0\r\nm=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n')).toEqual({ codec: 'pcma', payloadType: 8, sampleRate: 8000, channels: 1 });
    expect(cameraAudio('v=0\r\nm=audio 0 RTP/AVP 0\r\n')).toEqual({ codec: 'pcmu', payloadType: 0, sampleRate: 8000, channels: 1 });
    expect(cameraAudio('v=0\r\nm=audio 0 RTP/AVP 98\r\na=rtpmap:98 L16/16000\r\n')).toBeNull();
    expect(cameraAudio('v=0\r\nm=video 0 RTP/AVP 96\r\n')).toBeNull();
  });

  it('splits an RFC 3640 payload into its access units and refuses a fragment', () => {
    // Two AU headers (16 bits each: size << 3 | index), then the units.
    const payload = Buffer.from([0x00, 0x20, 0x00, 0x18, 0x00, 0x10, 1, 2, 3, 4, 5]);
    expect(aacAccessUnits(payload, 13, 3)).toEqual([Buffer.from([1, 2, 3]), Buffer.from([4, 5])]);
    expect(aacAccessUnits(Buffer.from([0x00, 0x10, 0x00, 0x80, 1, 2]), 13, 3)).toEqual([]);
  });

  it('writes ADTS headers for the AudioSpecificConfig (AAC-LC, 48 kHz, stereo)', () => {
    const header = adtsHeader(Buffer.from([0x11, 0x90]), 100);
    expect(header.length).toBe(7);
    expect(header.readUInt16BE(0) & 0xfff6).toBe(0xfff0);
    expect((header[2]! >> 6) + 1).toBe(2); // AAC LC
    expect((header[2]! >> 2) & 0x0f).toBe(3); // 48000 Hz
    expect(((header[2]! & 1) << 2) | (header[3]! >> 6)).toBe(2); // two channels
    expect(((header[3]! & 3) << 11) | (header[4]! << 3) | (header[5]! >> 5)).toBe(107);
  });
});
