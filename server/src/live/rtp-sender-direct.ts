import type { RTCRtpSender, RtpPacket } from 'werift';

/** The fields of werift 0.24's RTCRtpSender that its own sendRtp keeps (private in its types). */
interface SenderState {
  readonly ssrc: number;
  codec?: { payloadType: number };
  dtlsTransport: { state: string; sendRtp(payload: Buffer, header: RtpPacket['header']): Promise<number> };
  rtcpRunning: boolean;
  stopped: boolean;
  runRtcp(): Promise<void>;
  timestampOffset: number;
  seqOffset: number;
  timestamp?: number;
  sequenceNumber?: number;
  rtpTimestamp: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  rtpCache: RtpPacket[];
}

/** werift's retransmission history (RTP_HISTORY_SIZE in rtpSender.js). */
const RTP_HISTORY_SIZE = 128;
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/**
 * Sends RTP on a werift sender without going through the track and werift's `sendRtp`, for packets
 * whose header this process built (payload type, header extensions). It keeps the state werift's
 * sender reports and retransmissions read (counters, last RTP time, history) and skips the rest:
 * the per-packet rebuild of header extensions, the bandwidth estimator (no transport-cc is
 * negotiated, so it never gets feedback) and werift's `ntpTime()`, which splits a number's string
 * per packet and writes the decimal digits of the second as the NTP fraction, so its sender
 * reports were up to a second off (lip sync). Here the sender report's NTP time is the send time
 * of the packet whose RTP time it carries, computed only when a report is built.
 *
 * Why: the werift worker spends its time per packet per viewer; this path is about a sixth of it
 * (bench:live, fan-out).
 */
export class DirectRtpSender {
  private readonly s: SenderState;
  private lastSendMs = Date.now();

  constructor(sender: RTCRtpSender) {
    this.s = sender as unknown as SenderState;
    Object.defineProperty(sender, 'ntpTimestamp', {
      configurable: true,
      get: () => ntpFromEpochMs(this.lastSendMs),
      set: () => undefined,
    });
  }

  send(packet: RtpPacket): void {
    const s = this.s;
    if (s.dtlsTransport.state !== 'connected' || !s.codec) return;
    const { header, payload } = packet;
    header.ssrc = s.ssrc;
    header.payloadType = s.codec.payloadType;
    header.timestamp = (header.timestamp + s.timestampOffset) >>> 0;
    header.sequenceNumber = (header.sequenceNumber + s.seqOffset) & 0xffff;
    s.timestamp = header.timestamp;
    s.sequenceNumber = header.sequenceNumber;
    this.lastSendMs = Date.now();
    s.rtpTimestamp = header.timestamp;
    s.octetCount += payload.length;
    s.headerBytesSent += header.serializeSize;
    s.packetCount = (s.packetCount + 1) >>> 0;
    s.rtpCache[header.sequenceNumber % RTP_HISTORY_SIZE] = packet;
    void s.dtlsTransport.sendRtp(payload, header);
    if (!s.rtcpRunning && !s.stopped) void s.runRtcp();
  }
}

/** 64-bit NTP time (seconds since 1900 . 32-bit fraction) of an epoch instant in ms. */
export function ntpFromEpochMs(ms: number): bigint {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_EPOCH_OFFSET_S) << 32n) | BigInt(fraction);
}
