import { describe, expect, it } from 'vitest';
import { applyCorrections, itemsAt, stageAt, stagesOf, type CorrectionInput, type MarkInput } from '../../../server/src/sessions/stages.ts';

const T0 = Date.parse('2026-12-04T01:00:00.000Z');
const s = (seconds: number) => T0 + seconds * 1000;
let seq = 0;
const stage = (id: string, item: number, at: number): MarkInput => ({ id, seq: ++seq, item, note: null, effectiveAtMs: s(at) });
const note = (id: string, at: number): MarkInput => ({ id, seq: ++seq, item: null, note: 'party left the room', effectiveAtMs: s(at) });
let cseq = 0;
const voided = (markId: string): CorrectionInput => ({ markId, seq: ++cseq, kind: 'void', atMs: null, item: null });
const retime = (markId: string, at: number): CorrectionInput => ({ markId, seq: ++cseq, kind: 'retime', atMs: s(at), item: null });
const changeItem = (markId: string, item: number): CorrectionInput => ({ markId, seq: ++cseq, kind: 'change-item', atMs: null, item });
const spans = (stages: ReturnType<typeof stagesOf>) => stages.map((x) => [x.item, (x.fromMs - T0) / 1000, x.toMs === null ? null : (x.toMs - T0) / 1000]);

describe('stagesOf', () => {
  const hearing = [stage('a', 18, 10), stage('b', 19, 60), stage('c', 20, 120)];

  it('starts a stage at each mark and ends it at the next one, the last at the session end', () => {
    expect(spans(stagesOf(hearing, [], s(0), s(300)))).toEqual([[18, 10, 60], [19, 60, 120], [20, 120, 300]]);
  });

  it('leaves the last stage open while the session runs', () => {
    expect(spans(stagesOf(hearing, [], s(0), null))).toEqual([[18, 10, 60], [19, 60, 120], [20, 120, null]]);
  });

  it('ignores notes: a note neither starts nor ends a stage', () => {
    expect(spans(stagesOf([...hearing, note('n', 90)], [], s(0), s(300)))).toEqual([[18, 10, 60], [19, 60, 120], [20, 120, 300]]);
  });

  it('drops a voided mark: the stage before it runs on to the next mark', () => {
    expect(spans(stagesOf(hearing, [voided('b')], s(0), s(300)))).toEqual([[18, 10, 120], [20, 120, 300]]);
  });

  it('moves a retimed mark, even past another mark, and reorders the stages', () => {
    // 19 retimed from 60 s to 150 s: after 20's mark at 120 s.
    expect(spans(stagesOf(hearing, [retime('b', 150)], s(0), s(300)))).toEqual([[18, 10, 120], [20, 120, 150], [19, 150, 300]]);
  });

  it('changes the item of a mark, and merges it with the stage before when they are the same item', () => {
    expect(spans(stagesOf(hearing, [changeItem('b', 21)], s(0), s(300)))).toEqual([[18, 10, 60], [21, 60, 120], [20, 120, 300]]);
    expect(spans(stagesOf(hearing, [changeItem('b', 18)], s(0), s(300)))).toEqual([[18, 10, 120], [20, 120, 300]]);
  });

  it('applies several corrections of one mark in the order they were made', () => {
    expect(spans(stagesOf(hearing, [retime('b', 100), changeItem('b', 22), retime('b', 80)], s(0), s(300)))).toEqual([[18, 10, 80], [22, 80, 120], [20, 120, 300]]);
  });

  it('keeps a stage running through a recess: only the next mark ends it', () => {
    // recess from 70 s to 100 s inside stage 19; the clerk marks 20 after resuming at 110 s.
    const marks = [stage('a', 18, 10), stage('b', 19, 60), note('r', 70), stage('c', 20, 110)];
    const stages = stagesOf(marks, [], s(0), s(300));
    expect(spans(stages)).toEqual([[18, 10, 60], [19, 60, 110], [20, 110, 300]]);
    expect(itemsAt(stages, s(72), s(74))).toEqual([19]);
    expect(stageAt(stages, s(100))?.item).toBe(19);
  });

  it('continues a stage when its own item is marked again', () => {
    expect(spans(stagesOf([stage('a', 18, 10), stage('b', 18, 20), stage('c', 19, 30)], [], s(0), s(60)))).toEqual([[18, 10, 30], [19, 30, 60]]);
  });

  it('lets the later delivery win between two marks at one instant', () => {
    expect(spans(stagesOf([stage('a', 18, 10), stage('b', 19, 10)], [], s(0), s(60)))).toEqual([[19, 10, 60]]);
    expect(spans(stagesOf([stage('a', 18, 10), stage('b', 19, 20), stage('c', 18, 20)], [], s(0), s(60)))).toEqual([[18, 10, 60]]);
  });

  it('starts a mark placed before the session start at the start, and ignores marks at or after the end', () => {
    expect(spans(stagesOf([stage('a', 18, -5), stage('b', 19, 60), stage('c', 20, 60)], [], s(0), s(60)))).toEqual([[18, 0, 60]]);
  });

  it('has no stage without marks, and none before the first mark', () => {
    expect(stagesOf([], [], s(0), s(60))).toEqual([]);
    expect(stagesOf([note('n', 5)], [], s(0), s(60))).toEqual([]);
  });

  it('never changes its inputs', () => {
    const marks = hearing.map((m) => ({ ...m }));
    const corrections = [retime('a', 30), voided('b')];
    stagesOf(marks, corrections, s(0), s(300));
    expect(marks).toEqual(hearing);
    expect(applyCorrections(marks, corrections).find((m) => m.id === 'b')).toMatchObject({ voided: true, corrections: 1 });
  });
});

describe('itemsAt', () => {
  const stages = stagesOf([stage('a', 18, 10), stage('b', 19, 60), stage('c', 20, 120)], [], s(0), s(300));

  it('names the stages a span overlaps, half-open: a span ending where a stage starts is not in it', () => {
    expect(itemsAt(stages, s(0), s(10))).toEqual([]);
    expect(itemsAt(stages, s(8), s(12))).toEqual([18]);
    expect(itemsAt(stages, s(58), s(60))).toEqual([18]);
    expect(itemsAt(stages, s(58), s(62))).toEqual([18, 19]);
    expect(itemsAt(stages, s(50), s(130))).toEqual([18, 19, 20]);
    expect(itemsAt(stages, s(300), s(302))).toEqual([]);
  });

  it('follows a correction: a retimed mark moves the items of a span it crosses', () => {
    const before = itemsAt(stages, s(62), s(64));
    const after = itemsAt(stagesOf([stage('a', 18, 10), stage('b', 19, 60), stage('c', 20, 120)], [retime('b', 70)], s(0), s(300)), s(62), s(64));
    expect(before).toEqual([19]);
    expect(after).toEqual([18]);
  });

  it('treats an open stage as running on', () => {
    expect(itemsAt(stagesOf([stage('a', 18, 10)], [], s(0), null), s(5000), s(5002))).toEqual([18]);
  });
});
