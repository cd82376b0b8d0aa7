import { describe, expect, it } from 'vitest';
import { FlvH264Demuxer, parseAvcConfig } from '../../../server/src/simulator/media/flv-h264-demuxer.ts';
import { groupAccessUnits, profileLevelId, spsDimensions, splitAnnexB } from '../../../server/src/simulator/media/h264-nal.ts';
import {
  ntpFromUnixMs,
  packetizeAac,
  packetizeH264,
  parseSenderReports,
  rtpHeader,
  senderReport,
  unixMsFromNtp,
} from '../../../server/src/simulator/rtsp/rtp-packetizer.ts';
import { buildSdp } from '../../../server/src/simulator/rtsp/sdp.ts';

// The SPS x264 writes for the live main stream (1280×720, constrained baseline, level 3.1).
const SPS = Buffer.from('6742c01fda014016e840000003004000000ca3c60ca8', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');

describe('H.264 NAL units', () => {
  it('splits Annex B with 3- and 4-byte start codes and groups access units on AUDs', () => {
    const aud = Buffer.from([0x09, 0xf0]);
    const idr = Buffer.from([0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01]);
    const p = Buffer.from([0x41, 0x9a, 0x02]);
    const sc4 = Buffer.from([0, 0, 0, 1]);
    const sc3 = Buffer.from([0, 0, 1]);
    const stream = Buffer.concat([sc4, aud, sc4, SPS, sc3, PPS, sc3, idr, sc4, aud, sc3, p, Buffer.from([0, 0])]);
    const nals = splitAnnexB(stream);
    expect(nals.map((n) => n[0]! & 0x1f)).toEqual([9, 7, 8, 5, 9, 1]);
    expect(nals[3]).toEqual(idr); // emulation prevention bytes stay (they are part of the NAL)
    const aus = groupAccessUnits(nals);
    expect(aus.map((au) => au.map((n) => n[0]! & 0x1f))).toEqual([[7, 8, 5], [1]]);
  });

  it('groups access units without AUDs on first_mb_in_slice = 0', () => {
    const s0 = Buffer.from([0x41, 0x80]);
    const s1 = Buffer.from([0x41, 0x40]); // first_mb_in_slice = 1: same picture
    expect(groupAccessUnits([SPS, PPS, Buffer.from([0x65, 0x80]), s0, s1, s0]).map((a) => a.length)).toEqual([3, 2, 1]);
  });

  it('reads profile-level-id and the frame size from the SPS', () => {
    expect(profileLevelId(SPS)).toBe('42C01F');
    expect(spsDimensions(SPS)).toEqual({ width: 1280, height: 720 });
  });

  it('demuxes FLV video tags into access units with parameter sets', () => {
    const record = Buffer.concat([Buffer.from([1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, SPS.length]), SPS, Buffer.from([1, 0, PPS.length]), PPS]);
    expect(parseAvcConfig(record)).toEqual({ sps: SPS, pps: PPS, lengthSize: 4 });
    const tag = (body: Buffer, ts: number) => {
      const h = Buffer.alloc(11);
      h[0] = 9;
      h.writeUIntBE(body.length, 1, 3);
      h.writeUIntBE(ts, 4, 3);
      const prev = Buffer.alloc(4);
      prev.writeUInt32BE(11 + body.length);
      return Buffer.concat([h, body, prev]);
    };
    const nal = Buffer.from([0x65, 1, 2, 3]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(nal.length);
    const flv = Buffer.concat([
      Buffer.from('FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00', 'latin1'),
      tag(Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), record]), 0),
      tag(Buffer.concat([Buffer.from([0x17, 1, 0, 0, 0]), len, nal]), 80),
    ]);
    const configs: unknown[] = [];
    const aus: { nalUnits: Buffer[]; keyframe: boolean; ptsMs: number }[] = [];
    const demux = new FlvH264Demuxer((c) => configs.push(c), (au) => aus.push(au));
    // Byte by byte: tags split anywhere must still come out whole.
    for (const b of flv) demux.push(Buffer.from([b]));
    expect(configs).toHaveLength(1);
    expect(aus).toEqual([{ nalUnits: [nal], keyframe: true, ptsMs: 80 }]);
  });
});

describe('RTP packetization', () => {
  it('sends small NAL units whole and large ones as FU-A that reassemble exactly; marker on the last', () => {
    const big = Buffer.alloc(5000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    big[0] = 0x65;
    const payloads = packetizeH264([Buffer.from([0x09, 0xf0]), SPS, PPS, big], 1400);
    // AUD dropped, SPS and PPS single, IDR fragmented.
    expect(payloads[0]!.parts[0]).toBe(SPS);
    expect(payloads[1]!.parts[0]).toBe(PPS);
    const fus = payloads.slice(2).map((p) => Buffer.concat(p.parts));
    expect(fus.every((f) => f.length <= 1400)).toBe(true);
    expect(fus.every((f) => (f[0]! & 0x1f) === 28 && (f[0]! & 0xe0) === (0x65 & 0xe0))).toBe(true);
    expect(fus[0]![1]! & 0x80).toBe(0x80);
    expect(fus.at(-1)![1]! & 0x40).toBe(0x40);
    const rebuilt = Buffer.concat([Buffer.from([(fus[0]![0]! & 0xe0) | (fus[0]![1]! & 0x1f)]), ...fus.map((f) => f.subarray(2))]);
    expect(rebuilt).toEqual(big);
    expect(payloads.map((p) => p.marker)).toEqual(payloads.map((_, i) => i === payloads.length - 1));
  });

  it('frames AAC with one RFC 3640 AU header (13-bit size, index 0)', () => {
    const frame = Buffer.alloc(371, 1);
    const p = Buffer.concat(packetizeAac(frame).parts);
    expect(p.readUInt16BE(0)).toBe(16);
    expect(p.readUInt16BE(2) >> 3).toBe(371);
    expect(p.readUInt16BE(2) & 7).toBe(0);
    expect(p.subarray(4)).toEqual(frame);
  });

  it('writes the RTP header fields', () => {
    const h = rtpHeader({ payloadType: 96, marker: true, seq: 0x1_0005, timestamp: 2 ** 32 + 10, ssrc: 0xdeadbeef });
    expect([...h]).toEqual([0x80, 0xe0, 0, 5, 0, 0, 0, 10, 0xde, 0xad, 0xbe, 0xef]);
  });

  it('sender reports carry NTP and RTP time that parse back to the millisecond', () => {
    const ms = Date.UTC(2026, 11, 4, 8, 0, 0, 123);
    const [sec, frac] = ntpFromUnixMs(ms);
    expect(sec).toBe(Math.floor(ms / 1000) + 2_208_988_800);
    expect(Math.abs(unixMsFromNtp(sec, frac) - ms)).toBeLessThan(0.001);
    const packet = senderReport({ ssrc: 7, ntpMs: ms, rtpTime: 123456, packets: 3, octets: 400, cname: 'sim@127.0.0.1' });
    expect(packet.length % 4).toBe(0);
    expect(packet[29]).toBe(202); // SDES follows the SR
    const [sr] = parseSenderReports(packet);
    expect(sr!.ssrc).toBe(7);
    expect(sr!.rtpTime).toBe(123456);
    expect(Math.abs(sr!.ntpMs - ms)).toBeLessThan(0.001);
  });
});

describe('SDP', () => {
  const video = { width: 1280, height: 720, fps: 25, sps: SPS, pps: PPS };
  it('describes H.264 mode 1 with parameter sets and AAC with its config', () => {
    const sdp = buildSdp({ host: '127.0.0.1', sessionId: '1', name: 'x', video, audio: { codec: 'aac', sampleRate: 48000, channels: 1, config: Buffer.from([0x11, 0x88]) } });
    expect(sdp).toContain('a=rtpmap:96 H264/90000');
    expect(sdp).toContain(`packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=${SPS.toString('base64')},${PPS.toString('base64')}`);
    expect(sdp).toContain('a=rtpmap:97 mpeg4-generic/48000/1');
    expect(sdp).toContain('mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1188');
    expect(sdp.match(/a=control:trackID=\d/g)).toEqual(['a=control:trackID=0', 'a=control:trackID=1']);
    expect(sdp.endsWith('\r\n')).toBe(true);
  });
  it('describes G.711 A-law as static payload type 8', () => {
    const sdp = buildSdp({ host: '127.0.0.1', sessionId: '1', name: 'x', video, audio: { codec: 'pcma', sampleRate: 8000, channels: 1 } });
    expect(sdp).toContain('m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000');
  });
});
