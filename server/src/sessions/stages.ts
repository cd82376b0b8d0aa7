/**
 * Derived stages. A stage is never stored: it is computed, whenever it is read, from the marks as
 * delivered and the corrections made to them since. Starting a stage ends the previous one. Pure
 * functions over epoch milliseconds, so segments (recording) and the session view place time the
 * same way.
 */

export type CorrectionKind = 'void' | 'retime' | 'change-item';

/** A mark as stored: a stage mark carries an item, a note carries text. */
export interface MarkInput {
  id: string;
  /** Delivery order; breaks ties between marks at the same instant (the later delivery wins). */
  seq: number;
  item: number | null;
  note: string | null;
  effectiveAtMs: number;
}

export interface CorrectionInput {
  markId: string;
  seq: number;
  kind: CorrectionKind;
  /** retime: the new effective instant. */
  atMs: number | null;
  /** change-item: the new item. */
  item: number | null;
}

/** A mark with every correction applied in the order they were made. */
export interface EffectiveMark {
  id: string;
  seq: number;
  item: number | null;
  note: string | null;
  effectiveAtMs: number;
  voided: boolean;
  /** How many corrections changed this mark. */
  corrections: number;
}

export interface Stage {
  item: number;
  fromMs: number;
  /** null while the stage is still running (the session has not ended). */
  toMs: number | null;
  /** The mark that started the stage. */
  markId: string;
}

/** Applies corrections (in their own order) to the marks; the records themselves are untouched. */
export function applyCorrections(marks: readonly MarkInput[], corrections: readonly CorrectionInput[]): EffectiveMark[] {
  const byId = new Map<string, EffectiveMark>();
  for (const m of marks) byId.set(m.id, { ...m, voided: false, corrections: 0 });
  for (const c of [...corrections].sort((a, b) => a.seq - b.seq)) {
    const mark = byId.get(c.markId);
    if (!mark) continue;
    mark.corrections++;
    if (c.kind === 'void') mark.voided = true;
    else if (c.kind === 'retime' && c.atMs !== null) mark.effectiveAtMs = c.atMs;
    else if (c.kind === 'change-item' && c.item !== null && mark.item !== null) mark.item = c.item;
  }
  return [...byId.values()].sort(byTime);
}

const byTime = (a: { effectiveAtMs: number; seq: number }, b: { effectiveAtMs: number; seq: number }) =>
  a.effectiveAtMs - b.effectiveAtMs || a.seq - b.seq;

/**
 * The ordered stages of a session. Notes and voided marks start no stage; a stage runs from its
 * mark to the next stage mark, or to the session's end (null while it runs). A stage mark of the
 * item already running continues that stage. Marks placed before the start begin at the start;
 * marks at or after the end start nothing. Two stage marks at one instant: the later delivery wins.
 * A recess does not end a stage: the hearing resumes in it until the next mark.
 */
export function stagesOf(
  marks: readonly MarkInput[],
  corrections: readonly CorrectionInput[],
  sessionStartMs: number,
  sessionEndMs: number | null,
): Stage[] {
  const starts = applyCorrections(marks, corrections)
    .filter((m) => !m.voided && m.item !== null)
    .map((m) => ({ ...m, effectiveAtMs: Math.max(m.effectiveAtMs, sessionStartMs) }))
    .filter((m) => sessionEndMs === null || m.effectiveAtMs < sessionEndMs)
    .sort(byTime);
  const stages: Stage[] = [];
  for (const m of starts) {
    const last = stages.at(-1);
    if (last && last.item === m.item) continue;
    if (last) {
      last.toMs = m.effectiveAtMs;
      // A stage of no length (two marks at one instant) never happened.
      if (last.toMs === last.fromMs) stages.pop();
    }
    const previous = stages.at(-1);
    if (previous && previous.item === m.item) {
      previous.toMs = null;
      continue;
    }
    stages.push({ item: m.item!, fromMs: m.effectiveAtMs, toMs: null, markId: m.id });
  }
  const last = stages.at(-1);
  if (last) last.toMs = sessionEndMs;
  return stages;
}

/**
 * The items whose stages overlap the span [fromMs, toMs), in stage order and each once: what a
 * segment that covers that span belongs to. An open stage runs on forever.
 */
export function itemsAt(stages: readonly Stage[], fromMs: number, toMs: number): number[] {
  const items: number[] = [];
  for (const s of stages) {
    const overlaps = s.fromMs < toMs && (s.toMs === null || s.toMs > fromMs);
    if (overlaps && !items.includes(s.item)) items.push(s.item);
  }
  return items;
}

/** The stage running at an instant, or null (before the first mark, or after the end). */
export function stageAt(stages: readonly Stage[], atMs: number): Stage | null {
  return stages.find((s) => s.fromMs <= atMs && (s.toMs === null || atMs < s.toMs)) ?? null;
}
