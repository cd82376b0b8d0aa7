import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RetentionService } from '../retention/retention-service.ts';
import type { Caller } from '../sessions/session-service.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
const requestsQuery = z.object({ state: z.enum(['pending', 'approved', 'rejected']).optional() });

const caller = (req: Request, res: Response): Caller => ({ user: currentUser(res), ip: clientInfo(req).ip });

/**
 * Retention (docs/evidence.md): legal holds (legal), the list of sessions past retention (legal,
 * supervisor) and the two-person destruction procedure: a legal user requests, another legal user
 * or a supervisor approves or rejects. Nothing here is open to a clerk.
 */
export function retentionRoutes(retention: RetentionService): Router {
  const router = Router();
  const legal = requireRole('legal');
  const deciders = requireRole('legal', 'supervisor');

  router.post('/cases/:id/legal-hold', legal, (req, res) => {
    res.status(201).json(retention.placeHold(caller(req, res), String(req.params.id), validate(reasonBody, req.body ?? {}).reason));
  });

  router.post('/cases/:id/legal-hold/release', legal, (req, res) => {
    res.json(retention.releaseHold(caller(req, res), String(req.params.id), validate(reasonBody, req.body ?? {}).reason));
  });

  router.get('/retention/candidates', deciders, (req, res) => {
    res.json(retention.candidates(caller(req, res)));
  });

  router.post('/sessions/:id/destruction-requests', legal, (req, res) => {
    res.status(201).json(retention.request(caller(req, res), String(req.params.id), validate(reasonBody, req.body ?? {}).reason));
  });

  router.get('/sessions/:id/destruction-record', deciders, (req, res) => {
    res.json(retention.destructionRecord(caller(req, res), String(req.params.id)));
  });

  router.get('/destruction-requests', deciders, (req, res) => {
    res.json(retention.requests(caller(req, res), validate(requestsQuery, req.query, 'query').state));
  });

  router.post('/destruction-requests/:id/approve', deciders, async (req, res) => {
    res.json(await retention.approve(caller(req, res), String(req.params.id)));
  });

  router.post('/destruction-requests/:id/reject', deciders, (req, res) => {
    res.json(retention.reject(caller(req, res), String(req.params.id), validate(reasonBody, req.body ?? {}).reason));
  });

  return router;
}
