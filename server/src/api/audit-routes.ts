import { Router } from 'express';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const pageQuery = z.strictObject({
  beforeId: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** The audit log: the auditor's alone, and reading it is itself audited. */
export function auditRoutes(audit: AuditLog): Router {
  const router = Router();
  router.use(requireRole('auditor'));

  router.get('/', (req, res) => {
    const query = validate(pageQuery, req.query, 'query');
    res.json(audit.page(query));
  });

  router.get('/verify', (req, res) => {
    const result = audit.verify();
    audit.record({ actor: currentUser(res).username, ip: clientInfo(req).ip }, 'audit.verified', null, {
      ok: result.ok,
      checked: result.checked,
      firstBadId: result.firstBadId,
    });
    res.json(result);
  });

  return router;
}
