import type { ComplianceService } from '../compliance/compliance-service.ts';
import type { SegmentRepository } from '../recording/segment-repository.ts';
import { itemsAt } from '../sessions/stages.ts';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Caller, SessionService } from '../sessions/session-service.ts';
import { PARTICIPANT_ROLES, SESSION_STATES } from '../sessions/session.types.ts';
import { clientInfo, currentUser, requireRole } from './http-context.ts';
import { validate } from './validate.ts';

const instant = z.iso.datetime({ precision: 3, offset: false });
const participant = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: z.enum(PARTICIPANT_ROLES),
  idNumber: z.string().trim().regex(/^[0-9A-Za-z]{6,32}$/, 'expected 6–32 letters and digits').optional(),
  badgeNumber: z.string().trim().min(1).max(32).optional(),
});
const createBody = z
  .strictObject({
    caseId: z.string().min(1).max(64).optional(),
    caseNumber: z.string().trim().min(1).max(64).optional(),
    title: z.string().trim().min(1).max(200),
    procedure: z.string().min(1).max(64),
    roomId: z.string().min(1).max(64).optional(),
    participants: z.array(participant).max(100),
  })
  .refine((b) => (b.caseId === undefined) !== (b.caseNumber === undefined), { message: 'give exactly one of caseId or caseNumber' });
const markBody = z
  .strictObject({
    item: z.number().int().positive().optional(),
    note: z.string().trim().min(1).max(2000).optional(),
    clientId: z.uuid(),
    clientTime: instant,
    clockOffsetMs: z.number().int().min(-86_400_000).max(86_400_000).optional(),
  })
  .refine((b) => (b.item === undefined) !== (b.note === undefined), { message: 'give exactly one of item or note' });
const correctionBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('void'), reason: z.string().trim().min(1).max(1000) }),
  z.strictObject({ kind: z.literal('retime'), at: instant, reason: z.string().trim().min(1).max(1000) }),
  z.strictObject({ kind: z.literal('change-item'), item: z.number().int().positive(), reason: z.string().trim().min(1).max(1000) }),
]);
const recessBody = z.strictObject({ reason: z.string().trim().min(1).max(1000) });
const explanationBody = z.strictObject({ text: z.string().trim().min(1).max(2000) });
const calendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'expected a real date');
const listQuery = z.object({
  state: z.enum(SESSION_STATES).optional(),
  roomId: z.string().max(64).optional(),
  procedure: z.string().max(64).optional(),
  caseNumber: z.string().max(64).optional(),
  party: z.string().max(100).optional(),
  from: calendarDate.optional(),
  to: calendarDate.optional(),
});

const caller = (req: Request, res: Response): Caller => ({ user: currentUser(res), ip: clientInfo(req).ip });

/** Sessions: the clerk runs them in assigned rooms; supervisor and legal read (docs/roles.md). */
export function sessionRoutes(sessions: SessionService, segments: SegmentRepository, compliance: ComplianceService): Router {
  const router = Router();
  const readers = requireRole('clerk', 'supervisor', 'legal');
  const clerk = requireRole('clerk');
  const id = (req: Request) => String(req.params.id);

  router.get('/sessions', readers, (req, res) => {
    res.json(sessions.list(caller(req, res), validate(listQuery, req.query, 'query')));
  });

  router.post('/sessions', clerk, (req, res) => {
    const session = sessions.create(caller(req, res), validate(createBody, req.body));
    res.status(201).json({ id: session.id });
  });

  router.get('/sessions/:id', readers, (req, res) => {
    // The manifest's hash, once sealed: the fingerprint the paper record carries.
    res.json({ ...sessions.view(caller(req, res), id(req)), manifest: segments.manifest(id(req)), clock: segments.clock(id(req)).map(({ sessionId: _s, ...entry }) => entry) });
  });

  /** Findings against the checklist rules, in the language the request prefers. */
  router.get('/sessions/:id/compliance', readers, (req, res) => {
    const lang = req.acceptsLanguages('en', 'zh') === 'zh' ? 'zh' : 'en';
    const findings = compliance.check(caller(req, res), id(req));
    res.json({ findings: findings.map((f) => ({ item: f.item, rule: f.rule, severity: f.severity, message: f.message[lang] })) });
  });

  router.get('/sessions/:id/segments', readers, (req, res) => {
    sessions.view(caller(req, res), id(req)); // the same access check as reading the session
    const stages = sessions.stages(id(req));
    res.json(
      segments.list(id(req)).map((s) => ({
        cameraId: s.cameraId,
        seq: s.seq,
        startedAt: s.startedAt,
        endedAt: s.endedAt,
        durationMs: s.durationMs,
        bytes: s.bytes,
        sha256: s.sha256,
        prevSha256: s.prevSha256,
        timeSource: s.timeSource,
        // Derived from the marks now, never stored with the segment: a correction moves it.
        items: itemsAt(stages, Date.parse(s.startedAt), Date.parse(s.endedAt)),
      })),
    );
  });

  router.post('/sessions/:id/start', clerk, async (req, res) => {
    res.json(await sessions.start(caller(req, res), id(req)));
  });
  router.post('/sessions/:id/stop', clerk, async (req, res) => {
    res.json(await sessions.stop(caller(req, res), id(req)));
  });
  router.post('/sessions/:id/recess', clerk, async (req, res) => {
    res.json(await sessions.recess(caller(req, res), id(req), validate(recessBody, req.body).reason));
  });
  router.post('/sessions/:id/resume', clerk, async (req, res) => {
    res.json(await sessions.resume(caller(req, res), id(req)));
  });
  router.post('/sessions/:id/seal', clerk, async (req, res) => {
    res.json(await sessions.seal(caller(req, res), id(req)));
  });

  router.post('/sessions/:id/marks', clerk, (req, res) => {
    const { mark, created } = sessions.addMark(caller(req, res), id(req), validate(markBody, req.body));
    res.status(created ? 201 : 200).json(mark);
  });

  router.post('/sessions/:id/marks/:markId/corrections', clerk, (req, res) => {
    const result = sessions.correct(caller(req, res), id(req), String(req.params.markId), validate(correctionBody, req.body));
    res.status(201).json(result);
  });

  router.post('/sessions/:id/interruptions/:interruptionId/explanation', clerk, (req, res) => {
    const interruptionId = Number(req.params.interruptionId);
    const text = validate(explanationBody, req.body).text;
    res.json(sessions.explain(caller(req, res), id(req), Number.isSafeInteger(interruptionId) ? interruptionId : -1, text));
  });

  return router;
}
