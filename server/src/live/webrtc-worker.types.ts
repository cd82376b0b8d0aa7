/**
 * The wire between the main process (`WebRtcService`) and the WebRTC worker child process.
 *
 * Control messages travel over the child's IPC channel (`process.send`), JSON-serialised. RTP
 * travels over loopback UDP: the main process sends each camera packet in one datagram to the
 * worker's socket on 127.0.0.1, prefixed by a {@link RTP_HEADER_BYTES}-byte header:
 *
 * ```
 * byte 0     magic 0x48 ('H')
 * byte 1     track kind: 1 video, 2 audio
 * bytes 2-3  camera index (uint16 BE), announced earlier by a `camera` message
 * bytes 4-   the camera's RTP packet as it arrived
 * ```
 *
 * The worker accepts datagrams only from the address and port the main process names in `init`.
 */

export const RTP_HEADER_BYTES = 4;
export const RTP_MAGIC = 0x48;
export const TRACK_VIDEO = 1;
export const TRACK_AUDIO = 2;

export interface WorkerIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface WorkerInit {
  type: 'init';
  iceServers: WorkerIceServer[];
  /** Addresses werift binds and advertises as host candidates. */
  candidateAddresses: string[];
  /** Every candidate address is loopback: remote candidates that are not loopback are dropped. */
  loopbackOnly: boolean;
  /** Where the main process sends RTP from (the only accepted datagram source). */
  rtpSource: { address: string; port: number };
  logLevel: string;
}

/** Main → worker. */
export type ToWorker =
  | WorkerInit
  /** A camera's index in the RTP header and its current SDP (sent again when the SDP changes). */
  | { type: 'camera'; index: number; cameraId: string; sdp: string }
  /** The camera's feed has no viewers left: its index may be given to another feed later. */
  | { type: 'forget'; index: number }
  | { type: 'watch'; requestId: number; viewerId: string; cameraIndex: number }
  | { type: 'answer'; requestId: number; viewerId: string; sdp: string }
  | { type: 'stop'; viewerId: string };

/** Worker → main. */
export type FromWorker =
  /** The worker listens for RTP on 127.0.0.1:`port`. */
  | { type: 'ready'; port: number }
  | { type: 'offer'; requestId: number; viewerId: string; sdp: string }
  | { type: 'answered'; requestId: number; viewerId: string }
  | { type: 'failed'; requestId: number; code: string; message: string }
  /** A viewer's peer connected (ICE + DTLS): media flows from the next keyframe. */
  | { type: 'connected'; viewerId: string }
  /** A viewer's peer ended on the worker's side (failed, closed by the browser). */
  | { type: 'ended'; viewerId: string; reason: string };
