import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { EvidenceService } from '../evidence/evidence-service.ts';
import type { Caller } from '../sessions/session-service.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const exportBody = z.strictObject({
  items: z.array(z.number().int().positive()).max(64).optional(),
  cameras: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected a camera id')).max(64).optional(),
});

const caller = (req: Request, res: Response): Caller => ({ user: currentUser(res), ip: clientInfo(req).ip });

/**
 * Evidence: export packages (legal staff, sealed sessions only), the signing key (admin UI) and an
 * integrity scrub on demand (admin). File paths are computed by the service from its own rows.
 */
export function evidenceRoutes(evidence: EvidenceService): Router {
  const router = Router();
  const legal = requireRole('legal');

  router.post('/sessions/:id/exports', legal, (req, res) => {
    const { id } = evidence.requestExport(caller(req, res), String(req.params.id), validate(exportBody, req.body ?? {}));
    res.status(202).json({ id });
  });

  router.get('/exports/:id', legal, (req, res) => {
    const record = evidence.getExport(caller(req, res), String(req.params.id));
    res.json({ id: record.id, sessionId: record.sessionId, state: record.state, progress: record.progress, bytes: record.bytes, sha256: record.sha256, error: record.error, createdAt: record.createdAt, finishedAt: record.finishedAt });
  });

  router.get('/exports/:id/download', legal, (req, res, next) => {
    const { path, name, record } = evidence.download(caller(req, res), String(req.params.id));
    res.setHeader('X-Content-SHA256', record.sha256 ?? '');
    res.download(path, name, { headers: { 'Cache-Control': 'no-store' } }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  router.get('/evidence/key', requireRole('admin', 'legal'), (_req, res) => {
    res.json(evidence.keyInfo());
  });

  router.post('/evidence/scrub', requireRole('admin'), async (_req, res) => {
    res.json(await evidence.scrub());
  });

  return router;
}
