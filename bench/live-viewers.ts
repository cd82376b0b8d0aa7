// bench:live's WebRTC viewers, run in their own Node process so that their CPU (SRTP, werift) is
// never counted as the server's or the worker's. Each viewer is a werift RTCPeerConnection on its
// own socket.io connection as the supervisor, answering the server's offer as a browser would
// (complete answer, loopback only), and counting the video RTP it receives: packets, bytes, and
// sequence numbers missing from the window (the worker numbers each viewer's packets itself, so a
// hole is a lost packet, unless a NACK retransmission fills it later).
//
// Control is over IPC: the parent sends { type: 'reset' } to start the window and { type: 'report' }
// to get the figures; the process closes its peers and exits when the IPC channel goes.
import { io as connect, type Socket } from 'socket.io-client';
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import type { ClientToServerEvents, ServerToClientEvents } from '../server/src/realtime/events.ts';

export interface ViewersConfig {
  url: string;
  cookie: string;
  viewers: number;
  cameraId: string;
  stream: 'main' | 'sub';
}

export interface ViewerFigures {
  packets: number;
  bytes: number;
  /** Sequence numbers in the window never received (after NACK recovery; the last TAIL left out). */
  lost: number;
  /** Holes seen when packets arrived (before any retransmission filled them). */
  gapsSeen: number;
  /** Packets that arrived after a later one (retransmissions, reordering). */
  late: number;
  connected: boolean;
  ended: string | null;
}

export type FromViewers =
  | { type: 'connected'; viewers: number; failed: string[]; ms: number }
  | { type: 'report'; windowMs: number; viewers: ViewerFigures[] };
export type ToViewers = { type: 'reset' } | { type: 'report' };

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
/** About half a second of a 2 Mbit/s stream: holes this recent are not counted lost yet. */
const TAIL = 100;

class Counter {
  packets = 0;
  bytes = 0;
  gapsSeen = 0;
  late = 0;
  private highest: number | null = null;
  private windowStart: number | null = null;
  private seen = new Set<number>();

  onPacket(rtp: RtpPacket): void {
    const seq = rtp.header.sequenceNumber;
    let ext: number;
    if (this.highest === null) {
      ext = seq;
      this.highest = seq;
    } else {
      const delta = ((seq - (this.highest & 0xffff) + 0x18000) & 0xffff) - 0x8000;
      ext = this.highest + delta;
      if (delta > 1) this.gapsSeen += delta - 1;
      if (delta > 0) this.highest = ext;
      else this.late++;
    }
    if (this.windowStart === null || ext < this.windowStart) return;
    this.packets++;
    this.bytes += 12 + rtp.payload.length;
    this.seen.add(ext);
  }

  reset(): void {
    this.packets = 0;
    this.bytes = 0;
    this.gapsSeen = 0;
    this.late = 0;
    this.seen = new Set();
    this.windowStart = this.highest === null ? 0 : this.highest + 1;
  }

  /** Holes in the window, leaving out its last `tail` sequence numbers (a retransmission may still be on its way). */
  lost(tail: number): number {
    if (this.windowStart === null || this.highest === null) return 0;
    let lost = 0;
    for (let ext = this.windowStart; ext <= this.highest - tail; ext++) if (!this.seen.has(ext)) lost++;
    return lost;
  }
}

const config = JSON.parse(process.argv[2] ?? '{}') as ViewersConfig;
const sockets: LiveSocket[] = [];
const peers: RTCPeerConnection[] = [];
const counters: Counter[] = [];
const state: { connected: boolean; ended: string | null }[] = [];
let windowStartedAt = Date.now();

function send(message: FromViewers): void {
  if (process.connected) process.send!(message);
}

async function viewer(i: number): Promise<void> {
  const counter = new Counter();
  counters[i] = counter;
  const st = { connected: false, ended: null as string | null };
  state[i] = st;
  const socket: LiveSocket = connect(config.url, { transports: ['websocket'], extraHeaders: { cookie: config.cookie }, reconnection: false, forceNew: true });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  let result: Awaited<ReturnType<typeof watch>> | null = null;
  const watch = () =>
    socket.timeout(30_000).emitWithAck('live:watch', { cameraId: config.cameraId, stream: config.stream }) as Promise<
      { ok: true; viewerId: string; offer: { type: 'offer'; sdp: string } } | { ok: false; error: { code: string; message: string } }
    >;
  for (let attempt = 0; attempt < 20; attempt++) {
    result = await watch();
    if (result.ok || !['camera_offline', 'live_unavailable'].includes(result.error.code)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!result?.ok) throw new Error(`viewer ${i}: watch refused: ${JSON.stringify(result)}`);
  const viewerId = result.viewerId;
  socket.on('live:ended', (e) => {
    if (e.viewerId === viewerId) st.ended = e.reason;
  });
  const peer = new RTCPeerConnection({
    codecs: {
      video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  peers.push(peer);
  peer.onTrack.subscribe((track) => {
    if (track.kind === 'video') track.onReceiveRtp.subscribe((rtp: RtpPacket) => counter.onPacket(rtp));
  });
  const connected = peer.connectionStateChange.watch((s) => s === 'connected', 30_000);
  await peer.setRemoteDescription(result.offer);
  await peer.setLocalDescription(await peer.createAnswer());
  if (peer.iceGatheringState !== 'complete') await peer.iceGatheringStateChange.watch((s) => s === 'complete', 30_000);
  const ack = (await socket.timeout(30_000).emitWithAck('live:answer', { viewerId, answer: { type: 'answer', sdp: peer.localDescription!.sdp } })) as { ok: boolean };
  if (!ack.ok) throw new Error(`viewer ${i}: answer refused: ${JSON.stringify(ack)}`);
  await connected;
  st.connected = true;
}

async function shutdown(): Promise<never> {
  for (const s of sockets) s.close();
  await Promise.race([Promise.allSettled(peers.map((p) => p.close())), new Promise((r) => setTimeout(r, 3000))]);
  process.exit(0);
}

process.on('disconnect', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
// werift rejects promises on closed transports now and then; they concern one peer.
process.on('unhandledRejection', (reason) => process.stderr.write(`viewers: unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}\n`));

process.on('message', (message: ToViewers) => {
  if (message.type === 'reset') {
    for (const c of counters) c?.reset();
    windowStartedAt = Date.now();
  } else if (message.type === 'report') {
    send({
      type: 'report',
      windowMs: Date.now() - windowStartedAt,
      viewers: counters.map((c, i) => ({
        packets: c.packets,
        bytes: c.bytes,
        lost: c.lost(TAIL),
        gapsSeen: c.gapsSeen,
        late: c.late,
        connected: state[i]?.connected ?? false,
        ended: state[i]?.ended ?? null,
      })),
    });
  }
});

const t0 = Date.now();
const failed: string[] = [];
// A few at a time: 50 offers at once would measure the signalling burst, not the fan-out.
const BATCH = 5;
for (let i = 0; i < config.viewers; i += BATCH) {
  const batch = [];
  for (let k = i; k < Math.min(config.viewers, i + BATCH); k++) batch.push(viewer(k).catch((e: unknown) => void failed.push((e as Error).message)));
  await Promise.all(batch);
}
send({ type: 'connected', viewers: state.filter((s) => s.connected).length, failed, ms: Date.now() - t0 });
