import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Checklist, ChecklistItem, Procedure } from '../checklist/checklist.ts';
import type { Text } from '../shared/errors.ts';
import type { HolidayCalendar } from './holiday-calendar.ts';

export const RULES_FILE = fileURLToPath(new URL('../../../config/compliance-rules.yaml', import.meta.url));

const severity = z.enum(['error', 'warning', 'info']);
const base = {
  id: z.string().regex(/^[a-z0-9-]+$/),
  severity,
  /** The checklist items a finding cites. */
  items: z.array(z.number().int().positive()).optional(),
  /** The rule applies to sessions whose template records any of these items (default: all). */
  appliesTo: z.array(z.number().int().positive()).optional(),
};
const rule = z.discriminatedUnion('kind', [
  z.strictObject({ ...base, kind: z.literal('stages-marked') }),
  z.strictObject({ ...base, kind: z.literal('stages-order') }),
  z.strictObject({
    ...base,
    kind: z.literal('recording-before-first-stage'),
    params: z.strictObject({ seconds: z.union([z.literal('pre-roll'), z.number().min(0)]), slackSeconds: z.number().min(0).default(0) }),
  }),
  z.strictObject({ ...base, kind: z.literal('recording-after-last-stage'), params: z.strictObject({ seconds: z.number().min(0) }) }),
  z.strictObject({ ...base, kind: z.literal('officer-count'), params: z.strictObject({ processPattern: z.string().min(1), count: z.number().int().min(1) }) }),
  z.strictObject({ ...base, kind: z.literal('recording-method'), params: z.strictObject({ sources: z.record(z.string(), z.enum(['fixed', 'portable'])) }) }),
  z.strictObject({ ...base, kind: z.literal('footage-required'), params: z.strictObject({ source: z.enum(['fixed', 'portable']) }) }),
  z.strictObject({
    ...base,
    kind: z.literal('time-limit'),
    params: z.strictObject({
      from: z.string().min(1),
      /** `session-start` (its Beijing date) or a case event kind. */
      to: z.string().min(1),
      atLeast: z.number().int().optional(),
      atMost: z.number().int().optional(),
      days: z.enum(['working', 'calendar']),
    }),
  }),
  z.strictObject({ ...base, kind: z.literal('interruptions') }),
]);
const rulesFile = z.strictObject({ rules: z.array(rule) });

export type ComplianceRule = z.infer<typeof rule>;
export type Severity = z.infer<typeof severity>;

/** Loads the rules table; a bad file names the rule and key. */
export function loadComplianceRules(file = RULES_FILE): ComplianceRule[] {
  const parsed = rulesFile.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(`${file}: invalid compliance rules:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
  }
  const ids = new Set<string>();
  for (const r of parsed.data.rules) {
    if (ids.has(r.id)) throw new Error(`${file}: rule id ${r.id} appears twice`);
    ids.add(r.id);
  }
  return parsed.data.rules;
}

export interface ComplianceFinding {
  /** The checklist item the finding cites (null: the session as a whole). */
  item: number | null;
  rule: string;
  severity: Severity;
  message: Text;
}

/** What the rules look at: one session, its case's dates and its recorded footage. */
export interface ComplianceInput {
  procedure: Procedure;
  /** Epoch ms; in time order. */
  stages: readonly { item: number; fromMs: number }[];
  participants: readonly { role: string }[];
  /** One span per camera: fixed cameras of a room, or portable devices. */
  footage: readonly { cameraId: string; source: 'fixed' | 'portable'; startedMs: number; endedMs: number }[];
  interruptions: readonly { id: number; cameraId: string | null; cause: string; startedAt: string; endedAt: string | null; explanation: string | null }[];
  caseEvents: readonly { kind: string; at: string }[];
  /** ISO instants. */
  startedAt: string | null;
  endedAt: string | null;
  preRollS: number;
}

export interface ComplianceContext {
  checklist: Checklist;
  rules: readonly ComplianceRule[];
  calendar: HolidayCalendar;
  officerRoles: readonly string[];
}

/** The session's Beijing calendar date of an instant. */
const beijingDate = (iso: string): string => new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 10);
const beijingTime = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(11, 19);

/** Judges one session against the rules. Pure: same input, same findings. */
export function checkCompliance(input: ComplianceInput, ctx: ComplianceContext): ComplianceFinding[] {
  const items = new Map(ctx.checklist.items.map((i) => [i.item, i]));
  const cite = (n: number): { zh: string; en: string } => {
    const row = items.get(n);
    return row ? { zh: `第${n}项「${row.matter}」`, en: `item ${n} (${row.matter})` } : { zh: `第${n}项`, en: `item ${n}` };
  };
  const findings: ComplianceFinding[] = [];
  const template = input.procedure.items;
  for (const r of ctx.rules) {
    if (r.appliesTo && !r.appliesTo.some((n) => template.includes(n))) continue;
    const add = (item: number | null, message: Text, sev: Severity = r.severity) => findings.push({ item, rule: r.id, severity: sev, message });
    switch (r.kind) {
      case 'stages-marked': {
        const marked = new Set(input.stages.map((s) => s.item));
        for (const n of template) if (!marked.has(n)) add(n, { zh: `${cite(n).zh}未标记：该阶段没有记录起点。`, en: `${cite(n).en} was never marked: the stage has no recorded start.` });
        break;
      }
      case 'stages-order': {
        const seen: number[] = [];
        for (const s of input.stages) if (template.includes(s.item) && !seen.includes(s.item)) seen.push(s.item);
        for (let i = 1; i < seen.length; i++) {
          const [before, now] = [seen[i - 1]!, seen[i]!];
          if (template.indexOf(now) < template.indexOf(before)) {
            add(now, { zh: `${cite(now).zh}在${cite(before).zh}之后才标记，顺序与程序不符。`, en: `${cite(now).en} was marked after ${cite(before).en}, out of the procedure's order.` });
          }
        }
        break;
      }
      case 'recording-before-first-stage': {
        const first = input.stages.find((s) => template.includes(s.item));
        if (!first) break;
        const lead = r.params.seconds === 'pre-roll' ? input.preRollS : r.params.seconds;
        for (const f of input.footage) {
          const shortMs = f.startedMs - (first.fromMs - lead * 1000);
          if (shortMs > r.params.slackSeconds * 1000) {
            add(first.item, {
              zh: `摄像机 ${f.cameraId} 于 ${beijingTime(f.startedMs)} 开始记录，晚于${cite(first.item).zh}开始前 ${lead} 秒（开始记录时间）。`,
              en: `Camera ${f.cameraId} began recording at ${beijingTime(f.startedMs)} (Beijing), less than ${lead} s before ${cite(first.item).en} began.`,
            });
          }
        }
        break;
      }
      case 'recording-after-last-stage': {
        if (!input.endedAt) break;
        const last = [...input.stages].filter((s) => template.includes(s.item)).sort((a, b) => a.fromMs - b.fromMs).at(-1);
        if (!last) break;
        for (const f of input.footage) {
          if (f.endedMs < last.fromMs + r.params.seconds * 1000) {
            add(last.item, {
              zh: `摄像机 ${f.cameraId} 在${cite(last.item).zh}开始后不足 ${r.params.seconds} 秒即结束记录（结束记录时间）。`,
              en: `Camera ${f.cameraId} stopped recording less than ${r.params.seconds} s after ${cite(last.item).en} began.`,
            });
          }
        }
        break;
      }
      case 'officer-count': {
        const pattern = new RegExp(r.params.processPattern);
        const officers = input.participants.filter((p) => ctx.officerRoles.includes(p.role)).length;
        for (const n of template) {
          const row = items.get(n);
          if (!row || !pattern.test(row.process) || officers >= r.params.count) continue;
          add(n, {
            zh: `${cite(n).zh}的记录过程要求执法人员不少于 ${r.params.count} 名（“${row.process.match(pattern)![0]}”），本次仅登记 ${officers} 名。`,
            en: `${cite(n).en} needs at least ${r.params.count} officers by its recording process ("${row.process.match(pattern)![0]}"); ${officers} registered.`,
          });
        }
        break;
      }
      case 'recording-method': {
        const have = new Set(input.footage.map((f) => f.source));
        if (have.size === 0) {
          add(null, { zh: '本次没有任何录像。', en: 'The session has no footage at all.' });
          break;
        }
        for (const n of template) {
          const row = items.get(n);
          if (!row) continue;
          const methods = row.method.split(/\s+/).filter(Boolean);
          const allowed = methods.map((m) => r.params.sources[m]).filter((s): s is 'fixed' | 'portable' => s !== undefined);
          if (allowed.length === 0 || allowed.some((s) => have.has(s))) continue;
          add(n, {
            zh: `${cite(n).zh}的执法记录方式为“${row.method}”，本次没有相应的录像。`,
            en: `${cite(n).en} is to be recorded by ${methods.join(' or ')}; this session has no such footage.`,
          });
        }
        break;
      }
      case 'footage-required': {
        if (input.footage.some((f) => f.source === r.params.source)) break;
        const item = r.items?.[0] ?? null;
        const what = r.params.source === 'fixed' ? { zh: '固定摄像机（视频监控）', en: 'fixed-camera' } : { zh: '便携设备', en: 'portable-device' };
        add(item, { zh: `${item ? cite(item).zh : '本次'}没有${what.zh}录像。`, en: `${item ? cite(item).en : 'The session'} has no ${what.en} footage.` });
        break;
      }
      case 'time-limit':
        timeLimit(r, input, ctx.calendar, cite, add, items);
        break;
      case 'interruptions':
        for (const i of input.interruptions) {
          const where = i.cameraId ? { zh: `摄像机 ${i.cameraId}`, en: `camera ${i.cameraId}` } : { zh: '全部摄像机', en: 'all cameras' };
          const span = `${beijingTime(Date.parse(i.startedAt))}–${i.endedAt ? beijingTime(Date.parse(i.endedAt)) : '…'}`;
          const kind = i.cause === 'recess' ? { zh: '休会', en: 'Recess' } : { zh: `中断（${i.cause}）`, en: `Interruption (${i.cause})` };
          if (i.explanation) add(null, { zh: `${kind.zh}：${where.zh} ${span}，说明：${i.explanation}`, en: `${kind.en}: ${where.en} ${span}; explained: ${i.explanation}` }, 'info');
          else add(null, { zh: `${kind.zh}：${where.zh} ${span}，尚未说明原因。`, en: `${kind.en}: ${where.en} ${span} has no written explanation.` });
        }
        break;
    }
  }
  return findings.sort((a, b) => (a.item ?? Infinity) - (b.item ?? Infinity));
}

function timeLimit(
  r: Extract<ComplianceRule, { kind: 'time-limit' }>,
  input: ComplianceInput,
  calendar: HolidayCalendar,
  cite: (n: number) => Text,
  add: (item: number | null, message: Text, sev?: Severity) => void,
  items: Map<number, ChecklistItem>,
): void {
  const item = r.items?.[0] ?? null;
  const who = item ? cite(item) : { zh: '本次', en: 'The session' };
  const limitText = item && items.get(item) ? `（${items.get(item)!.timeLimit}）` : '';
  const eventDate = (kind: string): string | null => {
    const dates = input.caseEvents.filter((e) => e.kind === kind).map((e) => e.at).sort();
    return dates.at(-1) ?? null;
  };
  const to = r.params.to === 'session-start' ? (input.startedAt ? beijingDate(input.startedAt) : eventDate('hearing-date')) : eventDate(r.params.to);
  const from = eventDate(r.params.from);
  if (!from || !to) {
    const missing = !from ? r.params.from : r.params.to;
    add(item, { zh: `${who.zh}无法核对期限${limitText}：案件缺少“${missing}”日期。`, en: `${who.en}: the time limit cannot be checked: the case has no ${missing} date.` }, 'warning');
    return;
  }
  const { days, unknownYears } = calendar.count(from, to, r.params.days);
  const unit = r.params.days === 'working' ? { zh: '个工作日', en: 'working days' } : { zh: '日', en: 'calendar days' };
  if (unknownYears.length) {
    add(item, {
      zh: `节假日安排未收录 ${unknownYears.join('、')} 年：${from} 至 ${to} 仅按周末计算工作日，请核对。`,
      en: `The holiday calendar has no ${unknownYears.join(', ')}: working days from ${from} to ${to} were counted on weekdays only; check them.`,
    }, 'warning');
  }
  const span = { zh: `${r.params.from} ${from} 至 ${r.params.to === 'session-start' ? '本次' : r.params.to} ${to} 为 ${days} ${unit.zh}`, en: `${r.params.from} ${from} to ${r.params.to} ${to} is ${days} ${unit.en}` };
  if (r.params.atLeast !== undefined && days < r.params.atLeast) {
    add(item, { zh: `${who.zh}期限不符${limitText}：${span.zh}，应不少于 ${r.params.atLeast} ${unit.zh}。`, en: `${who.en} misses its time limit: ${span.en}, at least ${r.params.atLeast} required.` });
  } else if (r.params.atMost !== undefined && days > r.params.atMost) {
    add(item, { zh: `${who.zh}超过期限${limitText}：${span.zh}，应不超过 ${r.params.atMost} ${unit.zh}。`, en: `${who.en} misses its time limit: ${span.en}, at most ${r.params.atMost} allowed.` });
  }
}
