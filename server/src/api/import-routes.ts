import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ImportService } from '../imports/import-service.ts';
import { badRequest } from '../shared/errors.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

/** The uploader's name is shown only; still, nothing that could name another path is taken. */
const fileName = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .refine((name) => !/[/\\\u0000-\u001f\u007f]/.test(name) && !name.split('.').every((part) => part === '') && !name.includes('..'), 'a plain file name without path separators, ".." or control characters');

const createBody = z.strictObject({
  fileName,
  bytes: z.number().int().min(1),
  deviceId: z.string().regex(/^dev-[0-9a-f]{10}$/, 'expected a device id such as "dev-0123456789"'),
  item: z.number().int().min(1),
  note: z.string().trim().min(1).max(1000).optional(),
  /** When the uploader says the recording started: checked against the file's own time. */
  recordedAt: z.iso.datetime({ offset: true }).optional(),
});
const timeZoneBody = z.strictObject({ interpretation: z.enum(['as-utc', 'local-as-utc']) });

const by = (req: Request, res: Response) => ({ actor: currentUser(res).username, ip: clientInfo(req).ip });

/** Body-camera file imports into a case (docs/api.md): legal staff only; no route deletes one. */
export function importRoutes(imports: ImportService): Router {
  const router = Router();
  const legal = requireRole('legal');
  router.use('/imports', legal);
  // One chunk is one raw body, at most a chunk long (the last one shorter).
  const chunkBody = express.raw({ type: 'application/octet-stream', limit: imports.chunkBytes });

  router.post('/cases/:id/imports', legal, (req, res) => {
    res.status(201).json(imports.create(by(req, res), String(req.params.id), validate(createBody, req.body)));
  });
  router.get('/cases/:id/imports', legal, (req, res) => {
    res.json(imports.ofCase(String(req.params.id)));
  });
  router.put('/imports/:id/chunks/:index', chunkBody, async (req, res) => {
    const index = String(req.params.index);
    if (!/^\d{1,9}$/.test(index)) throw badRequest('invalid_chunk', { en: `"${index}" is not a chunk number.`, zh: `"${index}" 不是分块编号。` });
    if (!Buffer.isBuffer(req.body)) {
      throw badRequest('invalid_chunk', { en: 'Send a chunk as the raw body with Content-Type application/octet-stream.', zh: '请以 application/octet-stream 原始内容发送分块。' });
    }
    res.json(await imports.putChunk(String(req.params.id), Number(index), req.body));
  });
  router.get('/imports/:id', (req, res) => {
    res.json(imports.view(String(req.params.id)));
  });
  router.post('/imports/:id/complete', async (req, res) => {
    res.json(await imports.complete(by(req, res), String(req.params.id)));
  });
  router.post('/imports/:id/time-zone', (req, res) => {
    const { interpretation } = validate(timeZoneBody, req.body);
    res.json(imports.confirmTimeZone(by(req, res), String(req.params.id), interpretation));
  });
  return router;
}
