import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection, RTCRtpCodecParameters, type RtpPacket } from 'werift';
import type { ClientToServerEvents, ServerToClientEvents } from '../../server/src/realtime/events.ts';
import { nalTypes } from '../../server/src/live/webrtc-worker.ts';
import { ApiClient, startTestServer, type TestServer } from '../helpers/server.ts';
import { pause, waitFor } from '../helpers/wait.ts';

// WebRTC live view against the real server: the simulator's cameras, the werift worker child
// process, socket.io signalling, and a werift peer in this process standing in for the browser.
type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type WatchResult = { ok: true; viewerId: string; offer: { type: 'offer'; sdp: string }; iceServers: unknown[] } | { ok: false; error: { code: string; message: string } };

let server: TestServer;
const sockets: LiveSocket[] = [];
const peers: RTCPeerConnection[] = [];

async function login(username: string, password?: string): Promise<ApiClient> {
  const client = new ApiClient(server.url);
  await client.login(username, password);
  return client;
}

async function socketOf(client: ApiClient): Promise<LiveSocket> {
  const socket: LiveSocket = connect(server.url, { transports: ['websocket'], extraHeaders: { cookie: client.sessionCookie! }, reconnection: false });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

const watch = (socket: LiveSocket, cameraId: string, stream: 'main' | 'sub' = 'main') =>
  socket.timeout(20_000).emitWithAck('live:watch', { cameraId, stream }) as Promise<WatchResult>;

/** Watches until the server offers (the camera's ingest may still be starting). */
async function watchUntilOffered(socket: LiveSocket, cameraId: string, stream: 'main' | 'sub' = 'main'): Promise<Extract<WatchResult, { ok: true }>> {
  let last: WatchResult = { ok: false, error: { code: 'none', message: '' } };
  await waitFor(
    async () => {
      last = await watch(socket, cameraId, stream);
      return last.ok || !['camera_offline', 'live_unavailable'].includes(last.error.code);
    },
    60_000,
    `an offer for ${cameraId}`,
  );
  const result: WatchResult = last;
  if (!result.ok) throw new Error(`watch refused: ${JSON.stringify(result)}`);
  return result;
}

interface Received {
  viewerId: string;
  peer: RTCPeerConnection;
  packets: number;
  nalTypes: Set<number>;
  payloadTypes: Set<number>;
  /** Opus packets on the audio track. */
  audioPackets: number;
}

/** Answers an offer as a browser would (complete answer, loopback only) and counts the RTP that arrives. */
async function answer(socket: LiveSocket, offer: Extract<WatchResult, { ok: true }>): Promise<Received> {
  const peer = new RTCPeerConnection({
    codecs: { video: [new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] })],
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
    },
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceInterfaceAddresses: { udp4: '127.0.0.1' },
  });
  peers.push(peer);
  const received: Received = { viewerId: offer.viewerId, peer, packets: 0, nalTypes: new Set(), payloadTypes: new Set(), audioPackets: 0 };
  peer.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      if (track.kind === 'audio') {
        // Opus frames are short: a 20 ms frame at 48 kbit/s is about 120 bytes.
        if (rtp.payload.length > 0) received.audioPackets++;
        return;
      }
      received.packets++;
      received.payloadTypes.add(rtp.header.payloadType);
      for (const type of nalTypes(rtp.payload)) received.nalTypes.add(type);
    }),
  );
  await peer.setRemoteDescription(offer.offer);
  await peer.setLocalDescription(await peer.createAnswer());
  if (peer.iceGatheringState !== 'complete') await peer.iceGatheringStateChange.watch((s) => s === 'complete', 30_000);
  const ack = (await socket.timeout(20_000).emitWithAck('live:answer', { viewerId: offer.viewerId, answer: { type: 'answer', sdp: peer.localDescription!.sdp } })) as { ok: boolean };
  expect(ack).toEqual({ ok: true });
  return received;
}

const custodyRows = () => {
  const db = new Database(join(server.dataDir, 'hearing-recorder.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM custody_log ORDER BY id').all() as { session_id: string | null; room_id: string; camera_id: string; username: string; action: string; started_at: string; ended_at: string | null; detail: string }[];
  } finally {
    db.close();
  }
};

/** The worker's pid: the server's child registry (DATA_DIR/children.pid) lists it beside the ffmpeg children. */
function workerPid(): number | null {
  for (const line of readFileSync(join(server.dataDir, 'children.pid'), 'utf8').split('\n').filter(Boolean)) {
    const pid = Number(line.split(' ')[0]);
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('webrtc-worker.ts')) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** The server's sub-stream pulls now, as its metrics report them. */
async function subStreamPulls(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = /^hr_live_sub_stream_pulls (\d+)$/m.exec(text);
  if (!m) throw new Error('no hr_live_sub_stream_pulls in /metrics');
  return Number(m[1]);
}

beforeAll(async () => {
  server = await startTestServer({ simulator: true, demoOverrides: { recording: { preRollS: 2, segmentSeconds: 2 } } });
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.allSettled(peers.map((p) => p.close()));
  await server?.stop();
});

describe('WebRTC live view', () => {
  it('offers a supervisor a complete loopback-only H.264 offer and sends the camera video from a keyframe', async () => {
    const socket = await socketOf(await login('supervisor'));
    const offer = await watchUntilOffered(socket, 'h1-wide');
    // Complete: every candidate in the SDP (no trickle), loopback only, H.264 the one video codec.
    const candidates = offer.offer.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(candidates.length).toBeGreaterThan(0);
    for (const c of candidates) expect(c.split(' ')[4]).toBe('127.0.0.1');
    const rtpmaps = offer.offer.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=rtpmap:'));
    expect(rtpmaps.map((l) => l.split(' ')[1])).toEqual(['H264/90000', 'opus/48000/2']);
    expect(offer.offer.sdp).toMatch(/packetization-mode=1/);
    // The browser's peer gets live.iceServers too: none on a LAN.
    expect(offer.iceServers).toEqual([]);

    const received = await answer(socket, offer);
    // A repeated answer is refused and leaves the view as it is.
    const again = await socket.timeout(20_000).emitWithAck('live:answer', { viewerId: offer.viewerId, answer: { type: 'answer', sdp: received.peer.localDescription!.sdp } });
    expect(again).toMatchObject({ ok: false, error: { code: 'already_answered' } });
    await waitFor(() => received.packets > 100, 60_000, 'video RTP at the viewer');
    const before = received.packets;
    await waitFor(() => received.packets > before + 50, 30_000, 'RTP still flowing');
    // The stream starts at a keyframe (SPS, and an IDR) and carries ordinary frames after it.
    expect(received.nalTypes).toContain(7);
    expect(received.nalTypes).toContain(5);
    expect(received.nalTypes).toContain(1);
    // The camera's AAC arrives as Opus.
    await waitFor(() => received.audioPackets > 50, 30_000, 'Opus audio at the viewer');

    // Watching is in the custody log from the moment the peer connected, closed when it stops.
    await waitFor(() => custodyRows().some((r) => r.username === 'supervisor' && r.camera_id === 'h1-wide' && r.ended_at === null), 15_000, 'an open custody row');
    socket.emit('live:stop', { viewerId: offer.viewerId });
    await waitFor(() => custodyRows().some((r) => JSON.parse(r.detail).viewerId === offer.viewerId && r.ended_at !== null), 15_000, 'the custody row closed');
    const row = custodyRows().find((r) => JSON.parse(r.detail).viewerId === offer.viewerId)!;
    expect(row).toMatchObject({ room_id: 'hearing-1', camera_id: 'h1-wide', action: 'live_view', session_id: null });
    expect(JSON.parse(row.detail)).toMatchObject({ stream: 'main', transport: 'webrtc', endReason: 'stopped' });
    expect(Date.parse(row.ended_at!)).toBeGreaterThan(Date.parse(row.started_at));
    // …and the server stopped sending.
    // …and the worker closed the peer: once it says so, no more video arrives (absence is measured, after a second to drain).
    await waitFor(() => server.output.some((l) => l.includes('"viewer ended"') && l.includes(offer.viewerId)), 15_000, 'the worker to end the viewer');
    // What was already on its way drains in the first second; nothing arrives in the next.
    await pause(1000);
    const drained = received.packets;
    await pause(1000);
    expect(received.packets).toBe(drained);
  }, 180_000);

  it('serves a grid tile from the sub stream, pulled only while someone watches it', async () => {
    const socket = await socketOf(await login('supervisor'));
    expect(await subStreamPulls()).toBe(0);
    const offer = await watchUntilOffered(socket, 'h1-presiding', 'sub');
    const received = await answer(socket, offer);
    await waitFor(() => received.packets > 50 && received.nalTypes.has(7) && received.nalTypes.has(5), 60_000, 'sub-stream video at the viewer');
    expect(await subStreamPulls()).toBe(1);
    await waitFor(() => custodyRows().some((r) => JSON.parse(r.detail).viewerId === offer.viewerId), 15_000, 'custody row');
    expect(JSON.parse(custodyRows().find((r) => JSON.parse(r.detail).viewerId === offer.viewerId)!.detail).stream).toBe('sub');
    socket.emit('live:stop', { viewerId: offer.viewerId });
    await waitFor(async () => (await subStreamPulls()) === 0, 30_000, 'the sub-stream pull to stop with its last viewer');
  }, 120_000);

  it('gives no offer to a clerk of another room, to legal staff or to an anonymous socket, and says why', async () => {
    // A clerk assigned to the interview room only.
    const security = await login('security');
    const created = await security.post('/api/users', { username: 'clerk-interview', displayName: '询问室书记员', roles: ['clerk'], rooms: ['interview-1'] });
    expect(created.status, created.text).toBe(201);
    const clerk2 = await login('clerk-interview', created.json.initialPassword);
    expect((await clerk2.post('/api/auth/password', { currentPassword: created.json.initialPassword, newPassword: 'Xw9!quiet-Lamp' })).status).toBe(204);
    const otherClerk = await socketOf(await login('clerk-interview', 'Xw9!quiet-Lamp'));
    expect(await watch(otherClerk, 'h1-wide')).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const legal = await socketOf(await login('legal'));
    expect(await watch(legal, 'h1-wide')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const admin = await socketOf(await login('admin'));
    expect(await watch(admin, 'h1-wide')).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const supervisor = await socketOf(await login('supervisor'));
    expect(await watch(supervisor, 'no-such-camera')).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // The clerk of the room itself is offered.
    const clerk = await socketOf(await login('clerk'));
    const own = await watchUntilOffered(clerk, 'h1-wide');
    clerk.emit('live:stop', { viewerId: own.viewerId });
    // Errors carry a code and a message, never a stack.
    const refused = (await watch(legal, 'h1-wide')) as Extract<WatchResult, { ok: false }>;
    expect(Object.keys(refused.error).sort()).toEqual(['code', 'message']);

    // Anonymous: the socket itself is refused, so no event can ask for an offer.
    const anonymous: LiveSocket = connect(server.url, { transports: ['websocket'], reconnection: false });
    sockets.push(anonymous);
    const error = await new Promise<Error>((resolve) => anonymous.once('connect_error', resolve));
    expect(error.message).toBe('unauthorized');
    expect(anonymous.connected).toBe(false);
  }, 120_000);

  it('survives a killed worker during a recording session: no interruption, live:ended, and watching again works', async () => {
    const clerk = await login('clerk');
    const created = await clerk.post('/api/sessions', {
      caseNumber: '秦应急罚〔2026〕9号',
      title: '听证（直播测试）',
      procedure: 'penalty-hearing',
      roomId: 'hearing-1',
      participants: [{ name: '张主持', role: 'presiding' }],
    });
    expect(created.status, created.text).toBe(201);
    const sessionId = created.json.id as string;
    expect((await clerk.post(`/api/sessions/${sessionId}/start`)).status).toBe(200);

    const socket = await socketOf(await login('supervisor'));
    const ended: { viewerId: string; reason: string }[] = [];
    socket.on('live:ended', (event) => ended.push(event));
    const first = await answer(socket, await watchUntilOffered(socket, 'h1-wide'));
    await waitFor(() => first.packets > 50, 60_000, 'video before the kill');

    const segmentsBefore = (await clerk.get(`/api/sessions/${sessionId}/segments`)).json.filter((s: { cameraId: string }) => s.cameraId === 'h1-wide').length;
    const pid = workerPid();
    expect(pid).not.toBeNull();
    process.kill(pid!, 'SIGKILL');

    // The page learns its stream ended (and would watch again by itself).
    await waitFor(() => ended.some((e) => e.viewerId === first.viewerId), 30_000, 'live:ended');
    expect(ended.find((e) => e.viewerId === first.viewerId)!.reason).toBe('worker_restart');
    // The custody row of the killed view is closed with the reason.
    await waitFor(() => custodyRows().some((r) => JSON.parse(r.detail).viewerId === first.viewerId && r.ended_at !== null), 15_000, 'custody row closed');
    expect(custodyRows().find((r) => JSON.parse(r.detail).viewerId === first.viewerId)!.session_id).toBe(sessionId);

    // A new worker serves a new view. Like the page, the test watches again if a view ends before
    // its video shows (a cold worker on a loaded machine can miss the connect deadline).
    let second: Received | null = null;
    const endedEarly: string[] = [];
    for (let attempt = 0; attempt < 3 && !second; attempt++) {
      const view = await answer(socket, await watchUntilOffered(socket, 'h1-wide'));
      const endOf = () => ended.find((e) => e.viewerId === view.viewerId);
      await waitFor(() => (view.packets > 50 && view.nalTypes.has(5)) || endOf() !== undefined, 60_000, 'video after the restart').catch((err: Error) => {
        throw new Error(`${err.message}: ${view.packets} packets, NAL types ${[...view.nalTypes].join(',')}, peer ${view.peer.connectionState}`);
      });
      if (endOf()) endedEarly.push(endOf()!.reason);
      else second = view;
    }
    expect(second, `views ended before their video: ${endedEarly.join(', ')}`).not.toBeNull();
    expect(workerPid()).not.toBe(pid);

    // Recording went on: segments kept coming, and the session has no interruption.
    await waitFor(
      async () => (await clerk.get(`/api/sessions/${sessionId}/segments`)).json.filter((s: { cameraId: string }) => s.cameraId === 'h1-wide').length > segmentsBefore + 1,
      60_000,
      'segments after the kill',
    );
    expect((await clerk.post(`/api/sessions/${sessionId}/stop`)).status).toBe(200);
    const session = (await clerk.get(`/api/sessions/${sessionId}`)).json as { interruptions: { cameraId: string; cause: string }[] };
    expect(session.interruptions).toEqual([]);
  }, 180_000);
});
