import { describe, expect, it } from 'vitest';
import { orderProblem } from '../../../server/src/cases/case-service.ts';

describe('the known order of case events', () => {
  it('accepts a deadline on or after the order that set it', () => {
    expect(orderProblem([{ kind: 'rectification-order-served', at: '2026-11-02' }, { kind: 'rectification-deadline', at: '2026-11-02' }])).toBeNull();
    expect(orderProblem([{ kind: 'rectification-order-served', at: '2026-11-02' }, { kind: 'rectification-deadline', at: '2026-12-02' }])).toBeNull();
  });

  it('names a deadline before the order, and a hearing before its notice', () => {
    expect(orderProblem([{ kind: 'rectification-order-served', at: '2026-11-02' }, { kind: 'rectification-deadline', at: '2026-11-01' }])).toEqual({
      later: { kind: 'rectification-deadline', at: '2026-11-01' },
      earlier: { kind: 'rectification-order-served', at: '2026-11-02' },
    });
    expect(orderProblem([{ kind: 'hearing-date', at: '2026-11-20' }, { kind: 'hearing-notice-served', at: '2026-11-21' }])?.later.kind).toBe('hearing-date');
  });

  it('checks against the earliest notice: a notice served again later does not break an earlier deadline', () => {
    expect(
      orderProblem([
        { kind: 'rectification-order-served', at: '2026-01-01' },
        { kind: 'rectification-deadline', at: '2026-01-10' },
        { kind: 'rectification-order-served', at: '2026-01-15' },
        { kind: 'rectification-deadline', at: '2026-01-25' },
      ]),
    ).toBeNull();
  });

  it('says nothing when the earlier event is not known yet', () => {
    expect(orderProblem([{ kind: 'rectification-deadline', at: '2026-01-10' }])).toBeNull();
  });
});
