/**
 * The WebRTC worker: a child process of the server (spawned by `WebRtcService`) that holds one
 * werift RTCPeerConnection per live viewer and forwards each camera's H.264 RTP to them. It runs
 * apart from the server so that no viewer, no werift bug and no burst of packets can stall the
 * recording or the API; if it dies, the server restarts it and the viewers watch again.
 *
 * Control comes over IPC, RTP over loopback UDP (see webrtc-worker.types.ts for both).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { isIPv4 } from 'node:net';
import {
  MediaStreamTrack,
  RTCDtlsTransport,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RTCRtpHeaderExtensionParameters,
  RtpHeader,
  RtpPacket,
  type CandidatePair,
  type RTCRtpTransceiver,
} from 'werift';
import { createLogger, type Logger } from '../shared/logger.ts';
import { cameraAudio, LiveAudioTranscoder, OPUS_PAYLOAD_TYPE } from './live-audio.ts';
import { DirectRtpSender } from './rtp-sender-direct.ts';
import {
  RTP_HEADER_BYTES,
  RTP_MAGIC,
  TRACK_AUDIO,
  TRACK_VIDEO,
  type FromWorker,
  type ToWorker,
  type WorkerInit,
} from './webrtc-worker.types.ts';

/** The one video codec offered: H.264 constrained baseline 3.1, packetization-mode 1 (werift ignores fmtp when matching). */
export const H264_PAYLOAD_TYPE = 102;
const H264_FMTP = 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f';
const GATHER_TIMEOUT_MS = 10_000;
const ANSWER_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 20_000;
/**
 * The playout-delay RTP header extension (Chrome): it bounds the browser's video jitter buffer, which
 * otherwise grows to 100–200 ms on a live camera's uneven frame timing. Live supervision wants now,
 * not smooth-and-late; on a LAN 50 ms still absorbs the jitter.
 */
const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const PLAYOUT_DELAY_EXTENSION_ID = 6;
const MAX_PLAYOUT_DELAY_MS = 50;
/** min 0, max MAX_PLAYOUT_DELAY_MS: two 12-bit fields in 10 ms units. */
const PLAYOUT_DELAY_PAYLOAD = Buffer.from([0, (MAX_PLAYOUT_DELAY_MS / 10) >> 8, (MAX_PLAYOUT_DELAY_MS / 10) & 0xff]);
/** A camera's audio transcoder that died is not started again sooner than this. */
const AUDIO_RETRY_MS = 2000;

export const isLoopback = (address: string): boolean => (isIPv4(address) ? address.startsWith('127.') : address === '::1');

/** Removes remote candidates that are not loopback from an SDP (and any mDNS `.local` name). */
export function keepLoopbackCandidates(sdp: string): string {
  return sdp
    .split(/\r\n/)
    .filter((line) => !line.startsWith('a=candidate:') || isLoopback(line.split(' ')[4] ?? ''))
    .join('\r\n');
}

/** NAL unit types an H.264 RTP payload starts or carries (single NAL, STAP-A, FU-A start). */
export function nalTypes(payload: Buffer): number[] {
  if (payload.length < 1) return [];
  const type = payload[0]! & 0x1f;
  if (type >= 1 && type <= 23) return [type];
  if (type === 24) {
    const out: number[] = [];
    for (let i = 1; i + 2 < payload.length; ) {
      const size = payload.readUInt16BE(i);
      if (size === 0 || i + 2 + size > payload.length) break;
      out.push(payload[i + 2]! & 0x1f);
      i += 2 + size;
    }
    return out;
  }
  if (type === 28 && payload.length >= 2 && payload[1]! & 0x80) return [payload[1]! & 0x1f];
  return [];
}

/** SPS and PPS of the camera's SDP (`sprop-parameter-sets`), decoded. */
export function parameterSets(sdp: string): Buffer[] {
  const video = sdp.split(/\r?\nm=/).find((s) => s.startsWith('video'));
  const sprop = video && /sprop-parameter-sets=([^;\s]+)/.exec(video);
  if (!sprop) return [];
  return sprop[1]!
    .split(',')
    .map((b64) => Buffer.from(b64, 'base64'))
    .filter((nal) => nal.length > 0);
}

/** One STAP-A payload carrying the given NAL units. */
function stapA(nals: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x78])];
  for (const nal of nals) {
    const size = Buffer.alloc(2);
    size.writeUInt16BE(nal.length);
    parts.push(size, nal);
  }
  return Buffer.concat(parts);
}

interface CameraFeed {
  index: number;
  cameraId: string;
  sdp: string;
  parameterSets: Buffer[];
  viewers: Set<Viewer>;
  /** Opus for the viewers, while the camera has audio and viewers. */
  audio: LiveAudioTranscoder | null;
  audioFailedAt: number;
}

/** A second answer for a viewer: refused without ending the view the first one set up. */
class AnsweredError extends Error {}

class Viewer {
  readonly pc: RTCPeerConnection;
  readonly track = new MediaStreamTrack({ kind: 'video' });
  /** Opus transcoded from the camera's audio; silent when the camera has none. */
  readonly audioTrack = new MediaStreamTrack({ kind: 'audio' });
  connected = false;
  closed = false;
  private answered = false;
  /** Media starts at a keyframe once the peer is connected. */
  private started = false;
  private seq = Math.floor(Math.random() * 0x10000);
  private audioSeq = Math.floor(Math.random() * 0x10000);
  private timer: NodeJS.Timeout | null = null;
  private readonly videoTransceiver: RTCRtpTransceiver;
  private readonly videoOut: DirectRtpSender;
  private readonly audioOut: DirectRtpSender;
  /** The negotiated id of the playout-delay extension, or null when the browser declined it. */
  private playoutDelayId: number | null = null;

  constructor(
    readonly id: string,
    readonly feed: CameraFeed,
    private readonly worker: Worker,
  ) {
    const init = worker.init;
    const ipv4 = init.candidateAddresses.filter((a) => isIPv4(a));
    const ipv6 = init.candidateAddresses.filter((a) => !isIPv4(a));
    this.pc = new RTCPeerConnection({
      iceServers: init.iceServers,
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90000,
            payloadType: H264_PAYLOAD_TYPE,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
            parameters: H264_FMTP,
          }),
        ],
        audio: [
          new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: OPUS_PAYLOAD_TYPE, parameters: 'minptime=10;useinbandfec=1' }),
        ],
      },
      // Host candidates: exactly the configured addresses (werift would add every interface).
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: init.candidateAddresses,
      // One address per family: bind the sockets to it (else they listen on the wildcard).
      iceInterfaceAddresses: {
        ...(ipv4.length === 1 ? { udp4: ipv4[0] } : {}),
        ...(ipv6.length === 1 ? { udp6: ipv6[0] } : {}),
      },
      iceFilterCandidatePair: init.loopbackOnly ? (pair: CandidatePair) => isLoopback(pair.remoteCandidate.host) : undefined,
      headerExtensions: { video: [new RTCRtpHeaderExtensionParameters({ id: PLAYOUT_DELAY_EXTENSION_ID, uri: PLAYOUT_DELAY_URI })], audio: [] },
    });
    this.videoTransceiver = this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    this.videoOut = new DirectRtpSender(this.videoTransceiver.sender);
    this.audioOut = new DirectRtpSender(this.pc.addTransceiver(this.audioTrack, { direction: 'sendonly' }).sender);
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.connected) {
        // Only when the browser's answer accepted it.
        this.playoutDelayId = this.videoTransceiver.headerExtensions.find((e) => e.uri === PLAYOUT_DELAY_URI)?.id ?? null;
        this.connected = true;
        this.clearTimer();
        worker.send({ type: 'connected', viewerId: this.id });
      } else if (state === 'failed' || state === 'closed') {
        worker.endViewer(this, `peer_${state}`);
      }
    });
  }

  /** Creates the offer and waits until ICE gathering is complete: the SDP carries every candidate. */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== 'complete') {
      await this.pc.iceGatheringStateChange.watch((state) => state === 'complete', GATHER_TIMEOUT_MS);
    }
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('no local description after gathering');
    this.timer = setTimeout(() => this.worker.endViewer(this, 'no_answer'), ANSWER_TIMEOUT_MS);
    return sdp;
  }

  async answer(sdp: string): Promise<void> {
    if (this.answered) throw new AnsweredError();
    this.answered = true;
    const remote = this.worker.init.loopbackOnly ? keepLoopbackCandidates(sdp) : sdp;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: remote });
    this.clearTimer();
    this.timer = setTimeout(() => {
      if (!this.connected) this.worker.endViewer(this, 'connect_timeout');
    }, CONNECT_TIMEOUT_MS);
  }

  /**
   * One camera video packet, parsed once for all viewers (`types`: its NAL unit types). Each viewer
   * sends its own copy: werift rewrites the header and keeps the packet for retransmission.
   * Sequence numbers are the viewer's own, so skipping to a keyframe leaves no hole.
   */
  forward(source: RtpPacket, types: number[]): void {
    if (!this.connected || this.closed) return;
    if (!this.started) {
      if (!types.includes(7) && !types.includes(5)) return;
      this.started = true;
      // An IDR without in-band SPS/PPS: send the SDP's parameter sets first, at the same instant.
      if (!types.includes(7) && this.feed.parameterSets.length > 0) {
        this.write(new RtpPacket(new RtpHeader({ timestamp: source.header.timestamp, marker: false, payloadType: H264_PAYLOAD_TYPE }), stapA(this.feed.parameterSets)));
      }
    }
    const { marker, timestamp } = source.header;
    const extensions = this.playoutDelayId === null ? [] : [{ id: this.playoutDelayId, payload: PLAYOUT_DELAY_PAYLOAD }];
    this.write(new RtpPacket(new RtpHeader({ marker, timestamp, payloadType: H264_PAYLOAD_TYPE, extensions }), source.payload));
  }

  /** One Opus packet of the camera's audio, parsed once for all viewers. */
  forwardAudio(source: RtpPacket): void {
    if (!this.connected || this.closed) return;
    const header = new RtpHeader({ marker: source.header.marker, timestamp: source.header.timestamp, payloadType: OPUS_PAYLOAD_TYPE, sequenceNumber: this.audioSeq });
    this.audioSeq = (this.audioSeq + 1) & 0xffff;
    this.audioOut.send(new RtpPacket(header, source.payload));
  }

  /** The camera reconnected (a new SDP): start again at its next keyframe. */
  restart(): void {
    this.started = false;
  }

  private write(packet: RtpPacket): void {
    packet.header.sequenceNumber = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.videoOut.send(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    this.track.stop();
    this.audioTrack.stop();
    this.pc.close().catch(() => undefined);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

class Worker {
  init!: WorkerInit;
  private readonly feeds = new Map<number, CameraFeed>();
  private readonly viewers = new Map<string, Viewer>();
  private readonly udp = createSocket('udp4');
  private log: Logger = createLogger(process.env.LOG_LEVEL ?? 'info').child({ mod: 'webrtc-worker' });

  start(): void {
    process.on('message', (message: ToWorker) => {
      try {
        this.handle(message);
      } catch (err) {
        this.log.error({ err, type: message.type }, 'control message failed');
      }
    });
    // The server is gone (IPC closed): nothing left to serve.
    process.on('disconnect', () => this.exit(0));
    process.on('SIGTERM', () => this.exit(0));
    this.udp.on('message', (msg, from) => this.onDatagram(msg, from));
    this.udp.on('error', (err) => {
      this.log.error({ err }, 'RTP socket failed');
      this.exit(1);
    });
  }

  send(message: FromWorker): void {
    if (process.connected) process.send!(message);
  }

  private handle(message: ToWorker): void {
    switch (message.type) {
      case 'init':
        this.init = message;
        this.log = createLogger(message.logLevel).child({ mod: 'webrtc-worker' });
        // The DTLS certificate (one per process) is made now, not while the first viewer waits.
        RTCDtlsTransport.SetupCertificate().catch((err: unknown) => this.log.warn({ err }, 'DTLS certificate not prepared'));
        this.udp.bind(0, '127.0.0.1', () => {
          const { port } = this.udp.address();
          this.log.info({ port, candidateAddresses: message.candidateAddresses, loopbackOnly: message.loopbackOnly }, 'webrtc worker ready');
          this.send({ type: 'ready', port });
        });
        return;
      case 'camera': {
        const feed = this.feeds.get(message.index);
        if (feed) {
          if (feed.sdp !== message.sdp) {
            for (const viewer of feed.viewers) viewer.restart();
            // The audio may have changed too: a new transcoder starts with the next packet.
            this.stopAudio(feed);
          }
          feed.sdp = message.sdp;
          feed.parameterSets = parameterSets(message.sdp);
        } else {
          this.feeds.set(message.index, { index: message.index, cameraId: message.cameraId, sdp: message.sdp, parameterSets: parameterSets(message.sdp), viewers: new Set(), audio: null, audioFailedAt: 0 });
        }
        return;
      }
      case 'forget': {
        const feed = this.feeds.get(message.index);
        if (!feed) return;
        for (const viewer of [...feed.viewers]) this.endViewer(viewer, 'camera_gone');
        this.stopAudio(feed);
        this.feeds.delete(message.index);
        return;
      }
      case 'watch':
        void this.watch(message.requestId, message.viewerId, message.cameraIndex);
        return;
      case 'answer':
        void this.answer(message.requestId, message.viewerId, message.sdp);
        return;
      case 'stop': {
        const viewer = this.viewers.get(message.viewerId);
        if (viewer) this.endViewer(viewer, 'stopped', false);
        return;
      }
    }
  }

  private async watch(requestId: number, viewerId: string, cameraIndex: number): Promise<void> {
    const feed = this.feeds.get(cameraIndex);
    if (!feed) {
      this.send({ type: 'failed', requestId, code: 'not_found', message: 'The camera has sent no video to the live service yet.' });
      return;
    }
    let viewer: Viewer | undefined;
    try {
      viewer = new Viewer(viewerId, feed, this);
      this.viewers.set(viewerId, viewer);
      feed.viewers.add(viewer);
      const sdp = await viewer.offer();
      if (viewer.closed) throw new Error('viewer closed while gathering');
      this.send({ type: 'offer', requestId, viewerId, sdp });
      this.log.debug({ viewerId, camera: feed.cameraId }, 'offer sent');
    } catch (err) {
      this.log.warn({ err, viewerId }, 'offer failed');
      if (viewer) this.endViewer(viewer, 'offer_failed', false);
      this.send({ type: 'failed', requestId, code: 'live_unavailable', message: 'The live service could not prepare the stream; try again.' });
    }
  }

  private async answer(requestId: number, viewerId: string, sdp: string): Promise<void> {
    const viewer = this.viewers.get(viewerId);
    if (!viewer) {
      this.send({ type: 'failed', requestId, code: 'not_found', message: 'This live view has ended; watch again.' });
      return;
    }
    try {
      await viewer.answer(sdp);
      this.send({ type: 'answered', requestId, viewerId });
    } catch (err) {
      if (err instanceof AnsweredError) {
        this.send({ type: 'failed', requestId, code: 'already_answered', message: 'This live view has its answer already.' });
        return;
      }
      this.log.warn({ err, viewerId }, 'answer refused');
      this.endViewer(viewer, 'bad_answer', false);
      this.send({ type: 'failed', requestId, code: 'bad_answer', message: 'The answer could not be applied: send a complete SDP answer to this offer.' });
    }
  }

  /** Closes a viewer; tells the main process unless it asked for it. */
  endViewer(viewer: Viewer, reason: string, notify = true): void {
    if (viewer.closed) return;
    viewer.close();
    this.viewers.delete(viewer.id);
    viewer.feed.viewers.delete(viewer);
    if (viewer.feed.viewers.size === 0) this.stopAudio(viewer.feed);
    this.log.debug({ viewerId: viewer.id, reason }, 'viewer ended');
    if (notify) this.send({ type: 'ended', viewerId: viewer.id, reason });
  }

  private onDatagram(msg: Buffer, from: RemoteInfo): void {
    const source = this.init?.rtpSource;
    if (!source || from.address !== source.address || from.port !== source.port) return;
    if (msg.length < RTP_HEADER_BYTES + 12 || msg[0] !== RTP_MAGIC) return;
    const feed = this.feeds.get(msg.readUInt16BE(2));
    if (!feed || feed.viewers.size === 0) return;
    const rtp = msg.subarray(RTP_HEADER_BYTES);
    if (msg[1] === TRACK_AUDIO) {
      this.audioOf(feed)?.write(rtp);
      return;
    }
    if (msg[1] !== TRACK_VIDEO) return;
    let packet: RtpPacket;
    try {
      packet = RtpPacket.deSerialize(rtp);
    } catch {
      return;
    }
    const types = nalTypes(packet.payload);
    for (const viewer of feed.viewers) {
      try {
        viewer.forward(packet, types);
      } catch (err) {
        this.log.warn({ err, viewerId: viewer.id }, 'forward failed');
      }
    }
  }

  /** The feed's transcoder, started when the camera has audio it can read. */
  private audioOf(feed: CameraFeed): LiveAudioTranscoder | null {
    if (feed.audio) return feed.audio;
    if (Date.now() - feed.audioFailedAt < AUDIO_RETRY_MS) return null;
    const audio = cameraAudio(feed.sdp);
    if (!audio) {
      feed.audioFailedAt = Date.now();
      return null;
    }
    const transcoder = new LiveAudioTranscoder(audio, this.log.child({ camera: feed.cameraId }));
    feed.audio = transcoder;
    transcoder.on('opus', (raw) => {
      let packet: RtpPacket;
      try {
        packet = RtpPacket.deSerialize(raw);
      } catch {
        return;
      }
      for (const viewer of feed.viewers) viewer.forwardAudio(packet);
    });
    transcoder.on('died', (err) => {
      this.log.warn({ err, camera: feed.cameraId }, 'live audio transcoder died');
      feed.audioFailedAt = Date.now();
      this.stopAudio(feed);
    });
    transcoder.start().catch((err: unknown) => {
      this.log.warn({ err, camera: feed.cameraId }, 'live audio transcoder could not start');
      feed.audioFailedAt = Date.now();
      this.stopAudio(feed);
    });
    this.log.debug({ camera: feed.cameraId, codec: audio.codec }, 'live audio transcoder started');
    return transcoder;
  }

  private stopAudio(feed: CameraFeed): void {
    const audio = feed.audio;
    feed.audio = null;
    if (audio) void audio.close();
  }

  private exit(code: number): void {
    for (const feed of this.feeds.values()) this.stopAudio(feed);
    for (const viewer of this.viewers.values()) viewer.close();
    this.udp.close();
    process.exit(code);
  }
}

if (process.send && process.env.HR_WEBRTC_WORKER === '1') {
  const worker = new Worker();
  // werift rejects promises on closed transports now and then: log them, they concern one viewer.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`webrtc worker: unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}\n`);
  });
  worker.start();
}
