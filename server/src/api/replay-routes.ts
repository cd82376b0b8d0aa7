import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { ReplayService } from '../replay/replay-service.ts';
import type { Caller } from '../sessions/session-service.ts';
import { ApiError, badRequest } from '../shared/errors.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const SEGMENT_NAME = /^(\d{1,9})\.ts$/;

const caller = (req: Request, res: Response): Caller => ({ user: currentUser(res), ip: clientInfo(req).ip });

const badPath = () => badRequest('invalid_path', { en: 'The address names no session, camera or segment this server serves.', zh: '地址中的会话、摄像机或片段无效。' });

function ids(req: Request): { sessionId: string; cameraId: string } {
  const sessionId = String(req.params.id);
  const cameraId = String(req.params.cameraId);
  if (!ID.test(sessionId) || !ID.test(cameraId) || sessionId.startsWith('.') || cameraId.startsWith('.')) throw badPath();
  return { sessionId, cameraId };
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range of a file of `size` bytes; null: not satisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return null;
  return { start, end };
}

/**
 * Replay (legal staff and supervisors, sessions they may read): HLS playlists built from the index
 * and the segments they list, by sequence number only; the file's path comes from the index.
 */
export function replayRoutes(replay: ReplayService): Router {
  const router = Router();
  const readers = requireRole('legal', 'supervisor');

  router.get('/sessions/:id/cameras/:cameraId/index.m3u8', readers, (req, res) => {
    const { sessionId, cameraId } = ids(req);
    const raw = req.query.item;
    let item: number | undefined;
    if (raw !== undefined) {
      if (typeof raw !== 'string' || !/^\d{1,3}$/.test(raw)) {
        throw badRequest('invalid_request', { en: 'item must be a checklist item number.', zh: 'item 必须是清单事项编号。' });
      }
      item = Number(raw);
    }
    const text = replay.playlist(caller(req, res), sessionId, cameraId, item, (seq) => `segments/${String(seq).padStart(6, '0')}.ts`);
    res.setHeader('Content-Type', 'application/vnd.apple.mpegurl; charset=utf-8');
    res.setHeader('Cache-Control', 'private, no-cache');
    res.send(text);
  });

  router.get('/sessions/:id/cameras/:cameraId/segments/:name', readers, async (req, res) => {
    const { sessionId, cameraId } = ids(req);
    const m = SEGMENT_NAME.exec(String(req.params.name));
    if (!m) throw badPath();
    const file = await replay.segmentFile(caller(req, res), sessionId, cameraId, Number(m[1]));
    res.setHeader('Content-Type', 'video/mp2t');
    res.setHeader('Cache-Control', 'private');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('X-Content-SHA256', file.sha256);
    const header = req.headers.range;
    let start = 0;
    let end = file.size - 1;
    if (header !== undefined) {
      const range = parseRange(header, file.size);
      if (!range) {
        throw new ApiError(416, 'range_not_satisfiable', { en: `The range ${header} is outside the segment's ${file.size} bytes.`, zh: `请求范围 ${header} 超出片段的 ${file.size} 字节。` }, { 'Content-Range': `bytes */${file.size}` });
      }
      ({ start, end } = range);
      res.status(206);
      res.setHeader('Content-Range', `bytes ${start}-${end}/${file.size}`);
    }
    res.setHeader('Content-Length', String(end - start + 1));
    if (req.method === 'HEAD' || file.size === 0) {
      res.end();
      return;
    }
    await pipeline(await replay.openRange(file.path, start, end), res);
  });

  return router;
}
