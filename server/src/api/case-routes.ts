import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { CASE_EVENT_KINDS } from '../cases/case.types.ts';
import type { CaseService } from '../cases/case-service.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const caseNumber = z.string().trim().min(1).max(64);
const createBody = z.strictObject({
  caseNumber,
  title: z.string().trim().min(1).max(200),
  parties: z.array(z.string().trim().min(1).max(100)).max(50),
});
/** A real calendar date, YYYY-MM-DD (Asia/Shanghai by convention; no time of day). */
export const calendarDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a calendar date YYYY-MM-DD')
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().startsWith(d);
  }, 'not a real calendar date');
const eventBody = z.strictObject({ kind: z.enum(CASE_EVENT_KINDS), at: calendarDate, note: z.string().trim().min(1).max(1000).optional() });
const searchQuery = z.object({
  query: z.string().max(100).default(''),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const by = (req: Request, res: Response) => ({ actor: currentUser(res).username, ip: clientInfo(req).ip });

/** Cases: legal manages them, a clerk opens and reads them, a supervisor reads (docs/roles.md). */
export function caseRoutes(cases: CaseService): Router {
  const router = Router();
  const readers = requireRole('clerk', 'supervisor', 'legal');

  router.get('/cases', readers, (req, res) => {
    const q = validate(searchQuery, req.query, 'query');
    res.json(cases.search(q.query, q.limit, q.offset));
  });

  router.post('/cases', requireRole('clerk', 'legal'), (req, res) => {
    const record = cases.create(by(req, res), validate(createBody, req.body));
    res.status(201).json({ id: record.id });
  });

  router.get('/cases/:id', readers, (req, res) => {
    res.json(cases.view(currentUser(res), String(req.params.id)));
  });

  router.post('/cases/:id/events', requireRole('legal'), (req, res) => {
    res.status(201).json(cases.addEvent(by(req, res), String(req.params.id), validate(eventBody, req.body)));
  });

  return router;
}
