import { get as httpGet } from 'node:http';
import { Router, type Request, type Response } from 'express';
import type { AuthService } from '../auth/auth-service.ts';
import type { DeviceService } from '../devices/device-service.ts';
import type { CameraFlvService } from '../live/camera-flv.ts';
import type { FlvUrlSigner } from '../live/flv-url.ts';
import { canWatchDevice, canWatchRoom } from '../live/live-access.ts';
import type { MediaServer } from '../live/media-server.ts';
import { DEVICE_APP, LIVE_APP } from '../live/publish-guard.ts';
import { ApiError, forbidden, notFound, unauthorized } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { currentUser, readCookie, SESSION_COOKIE } from './http-context.ts';

export interface LiveRouteDependencies {
  auth: AuthService;
  /** A camera's room (null: placed in no room), or undefined when there is no such camera. */
  roomOfCamera: (cameraId: string) => string | null | undefined;
  media: MediaServer | null;
  flv: CameraFlvService | null;
  devices: DeviceService | null;
  signer: FlvUrlSigner;
  /** The custody log: who watched what, from when to when. */
  custody: { open(entry: { sessionId: string | null; roomId: string | null; cameraId: string | null; username: string; action: 'live_view'; detail?: Record<string, unknown> }): number; close(id: number, detail?: Record<string, unknown>): void };
  /** The session recording in a room now, if any. */
  sessionInRoom: (roomId: string) => string | null;
  log: Logger;
}

interface Viewing {
  /** The custody entry of this viewing (opened when the stream starts flowing). */
  open(): void;
  /** The viewer or the stream went. */
  close(reason: string): void;
}

const cameraFlvPath = (cameraId: string) => `/live/flv/${cameraId}.flv`;
const deviceFlvPath = (deviceId: string) => `/live/flv/device/${deviceId}.flv`;

const mayNotWatch = () => forbidden({ en: 'You may not watch this camera live.', zh: '无权观看此画面的实时视频。' });
const unavailable = () =>
  new ApiError(503, 'live_unavailable', {
    en: 'FLV live view is not available: the media server is not running. Try WebRTC, or ask the administrator to check the server log.',
    zh: 'FLV 实时视频不可用：流媒体服务未运行。请改用 WebRTC，或请管理员检查服务器日志。',
  });

/** `GET /api/live/cameras/:cameraId/flv-url`, `GET /api/live/devices/:deviceId/flv-url` (behind the login). */
export function liveApiRoutes(deps: LiveRouteDependencies): Router {
  const router = Router();
  router.get('/live/cameras/:cameraId/flv-url', (req, res) => {
    const cameraId = String(req.params.cameraId);
    const user = currentUser(res);
    const roomId = deps.roomOfCamera(cameraId);
    if (roomId === undefined) throw notFound({ en: `Camera ${cameraId}`, zh: `摄像机 ${cameraId}` });
    if (!canWatchRoom(user, roomId)) throw mayNotWatch();
    if (!deps.media?.running || !deps.flv) throw unavailable();
    res.setHeader('Cache-Control', 'no-store');
    res.json(deps.signer.sign(cameraFlvPath(cameraId), user.username));
  });
  router.get('/live/devices/:deviceId/flv-url', (req, res) => {
    const deviceId = String(req.params.deviceId);
    const user = currentUser(res);
    if (!canWatchDevice(user)) throw mayNotWatch();
    if (!deps.media?.running || !deps.devices) throw unavailable();
    deps.devices.get(deviceId);
    res.setHeader('Cache-Control', 'no-store');
    res.json(deps.signer.sign(deviceFlvPath(deviceId), user.username));
  });
  return router;
}

/**
 * `GET /live/flv/:cameraId.flv` and `GET /live/flv/device/:deviceId.flv` on the main port: the login
 * session (401) AND the signed URL of that user (403 forged or expired), then node-media-server's
 * HTTP-FLV of the stream streamed through as it comes, until the viewer goes.
 */
export function flvStreamRoutes(deps: LiveRouteDependencies): Router {
  const router = Router();

  const admit = (req: Request, path: string) => {
    const user = deps.auth.authenticate(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (!user) throw unauthorized();
    if (user.mustChangePassword) throw forbidden({ en: 'Change your password before doing anything else.', zh: '请先修改密码，再进行其他操作。' }, 'password_change_required');
    const check = deps.signer.check(path, req.query as Record<string, unknown>);
    if (check === 'expired') throw forbidden({ en: 'This live video link has expired: open the view again.', zh: '实时视频链接已过期，请重新打开画面。' }, 'flv_url_expired');
    if (check !== 'ok' || req.query.user !== user.username) {
      throw forbidden({ en: 'This live video link is not valid.', zh: '实时视频链接无效。' }, 'flv_url_invalid');
    }
    return user;
  };

  router.get('/live/flv/device/:deviceId.flv', (req, res) => {
    const deviceId = String(req.params.deviceId);
    const user = admit(req, deviceFlvPath(deviceId));
    if (!canWatchDevice(user)) throw mayNotWatch();
    if (!deps.media?.running || !deps.devices) throw unavailable();
    deps.devices.get(deviceId);
    const viewing = custodyOf(deps, { sessionId: deps.devices.openSessionOf(deviceId), roomId: null, cameraId: deviceId, username: user.username });
    proxy(res, deps.media.httpFlvUrl(DEVICE_APP, deviceId), viewing, deps.log);
  });

  router.get('/live/flv/:cameraId.flv', (req, res) => {
    const cameraId = String(req.params.cameraId);
    const user = admit(req, cameraFlvPath(cameraId));
    const roomId = deps.roomOfCamera(cameraId);
    if (roomId === undefined) throw notFound({ en: `Camera ${cameraId}`, zh: `摄像机 ${cameraId}` });
    if (!canWatchRoom(user, roomId)) throw mayNotWatch();
    if (!deps.media?.running || !deps.flv) throw unavailable();
    if (!deps.flv.canPublish(cameraId)) {
      throw new ApiError(503, 'camera_offline', { en: `Camera ${cameraId} delivers no picture now: try again when it is online.`, zh: `摄像机 ${cameraId} 当前没有画面，请在其恢复在线后重试。` });
    }
    const release = deps.flv.acquire(cameraId);
    const viewing = custodyOf(deps, { sessionId: roomId ? deps.sessionInRoom(roomId) : null, roomId, cameraId, username: user.username });
    proxy(res, deps.media.httpFlvUrl(LIVE_APP, cameraId), { open: viewing.open, close: (reason) => { release(); viewing.close(reason); } }, deps.log);
  });

  return router;
}

/** A viewing written to the custody log: opened when video flows, closed when it ends. A failing log never cuts the stream. */
function custodyOf(deps: LiveRouteDependencies, entry: { sessionId: string | null; roomId: string | null; cameraId: string; username: string }): Viewing {
  let id: number | null = null;
  return {
    open: () => {
      try {
        id = deps.custody.open({ ...entry, action: 'live_view', detail: { transport: 'flv' } });
      } catch (err) {
        deps.log.error({ err }, 'custody log entry could not be opened');
      }
    },
    close: (reason) => {
      if (id === null) return;
      try {
        deps.custody.close(id, { endReason: reason });
      } catch (err) {
        deps.log.error({ err }, 'custody log entry could not be closed');
      }
      id = null;
    },
  };
}

/** Streams an upstream HTTP-FLV response to the viewer, never buffering it; either side ending ends both. */
function proxy(res: Response, upstreamUrl: string, viewing: Viewing, log: Logger): void {
  let done = false;
  const finish = (reason: string) => {
    if (done) return;
    done = true;
    upstream.destroy();
    viewing.close(reason);
  };
  const upstream = httpGet(upstreamUrl, (up) => {
    if (up.statusCode !== 200) {
      up.resume();
      finish('upstream_status');
      if (!res.headersSent) res.status(503).json({ error: { code: 'live_unavailable', message: `The media server answered ${up.statusCode}.` } });
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'video/x-flv');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    viewing.open();
    up.on('data', (chunk: Buffer) => {
      // A viewer that cannot keep up loses data (the next keyframe recovers), never the server's memory.
      if (res.writableLength > 8 * 1024 * 1024) {
        log.warn({ url: upstreamUrl }, 'FLV viewer too slow: disconnected');
        finish('viewer_too_slow');
        res.destroy();
        return;
      }
      res.write(chunk);
    });
    up.once('end', () => {
      finish('stream_ended');
      res.end();
    });
    up.once('error', () => res.destroy());
  });
  upstream.once('error', (err) => {
    log.warn({ err }, 'FLV upstream failed');
    finish('upstream_failed');
    if (!res.headersSent) res.status(503).json({ error: { code: 'live_unavailable', message: 'The media server did not answer.' } });
    else res.destroy();
  });
  // The response closes when the viewer goes (or when it ended): the upstream goes with it.
  res.once('close', () => finish('viewer_left'));
}
