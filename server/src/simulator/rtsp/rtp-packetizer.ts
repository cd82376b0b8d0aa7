import { NAL_AUD, nalType } from '../media/h264-nal.ts';

/** An RTP payload as buffer slices (no copy) and whether it ends the frame (marker bit). */
export interface RtpPayload {
  parts: Buffer[];
  marker: boolean;
}

/**
 * H.264 access unit → RTP payloads (RFC 6184, packetization-mode 1): single NAL unit packets, FU-A
 * fragments above the MTU. Done once per access unit and shared by every session of a path.
 */
export function packetizeH264(nalUnits: Buffer[], mtu = 1400): RtpPayload[] {
  const out: RtpPayload[] = [];
  const nals = nalUnits.filter((n) => n.length > 0 && nalType(n) !== NAL_AUD);
  nals.forEach((nal, i) => {
    const last = i === nals.length - 1;
    if (nal.length <= mtu) {
      out.push({ parts: [nal], marker: last });
      return;
    }
    const indicator = (nal[0]! & 0xe0) | 28;
    const type = nal[0]! & 0x1f;
    const max = mtu - 2;
    for (let off = 1; off < nal.length; off += max) {
      const end = Math.min(nal.length, off + max);
      const start = off === 1;
      const stop = end === nal.length;
      const fu = Buffer.from([indicator, (start ? 0x80 : 0) | (stop ? 0x40 : 0) | type]);
      out.push({ parts: [fu, nal.subarray(off, end)], marker: last && stop });
    }
  });
  return out;
}

/** One AAC raw frame → RFC 3640 AAC-hbr payload (one AU header: 13-bit size, 3-bit index 0). */
export function packetizeAac(frame: Buffer): RtpPayload {
  const header = Buffer.from([0x00, 0x10, (frame.length >> 5) & 0xff, (frame.length & 0x1f) << 3]);
  return { parts: [header, frame], marker: true };
}

/** The fixed 12-byte RTP header. */
export function rtpHeader(o: { payloadType: number; marker: boolean; seq: number; timestamp: number; ssrc: number }): Buffer {
  const h = Buffer.allocUnsafe(12);
  h[0] = 0x80;
  h[1] = (o.marker ? 0x80 : 0) | (o.payloadType & 0x7f);
  h.writeUInt16BE(o.seq & 0xffff, 2);
  h.writeUInt32BE(o.timestamp >>> 0, 4);
  h.writeUInt32BE(o.ssrc >>> 0, 8);
  return h;
}

const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/** Unix milliseconds → 64-bit NTP timestamp [seconds, fraction]. */
export function ntpFromUnixMs(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  return [(seconds + NTP_EPOCH_OFFSET_S) >>> 0, frac >>> 0];
}

export function unixMsFromNtp(seconds: number, fraction: number): number {
  return (seconds - NTP_EPOCH_OFFSET_S) * 1000 + (fraction / 2 ** 32) * 1000;
}

/** RTCP compound packet: sender report (RFC 3550 §6.4.1) plus SDES CNAME, as receivers expect. */
export function senderReport(o: { ssrc: number; ntpMs: number; rtpTime: number; packets: number; octets: number; cname: string }): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(o.ssrc >>> 0, 4);
  const [sec, frac] = ntpFromUnixMs(o.ntpMs);
  sr.writeUInt32BE(sec, 8);
  sr.writeUInt32BE(frac, 12);
  sr.writeUInt32BE(o.rtpTime >>> 0, 16);
  sr.writeUInt32BE(o.packets >>> 0, 20);
  sr.writeUInt32BE(o.octets >>> 0, 24);
  const cname = Buffer.from(o.cname.slice(0, 255));
  const itemLen = 2 + cname.length + 1; // type, length, text, end-of-list
  const padded = Math.ceil((4 + itemLen) / 4) * 4;
  const sdes = Buffer.alloc(4 + padded);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(o.ssrc >>> 0, 4);
  sdes[8] = 1;
  sdes[9] = cname.length;
  cname.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}

/** Parses the sender reports out of an RTCP compound packet. */
export function parseSenderReports(buf: Buffer): { ssrc: number; ntpMs: number; rtpTime: number; ntp: [number, number] }[] {
  const out: { ssrc: number; ntpMs: number; rtpTime: number; ntp: [number, number] }[] = [];
  for (let p = 0; p + 4 <= buf.length; ) {
    const len = (buf.readUInt16BE(p + 2) + 1) * 4;
    if (buf[p + 1] === 200 && p + 28 <= buf.length) {
      const sec = buf.readUInt32BE(p + 8);
      const frac = buf.readUInt32BE(p + 12);
      out.push({ ssrc: buf.readUInt32BE(p + 4), ntpMs: unixMsFromNtp(sec, frac), rtpTime: buf.readUInt32BE(p + 16), ntp: [sec, frac] });
    }
    p += len;
  }
  return out;
}
