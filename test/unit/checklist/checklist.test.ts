import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadChecklist } from '../../../server/src/checklist/checklist.ts';

const SEED = fileURLToPath(new URL('../../fixtures/enforcement-av-record-checklist-2024.txt', import.meta.url));
const COLUMNS = ['item', 'category', 'project', 'matter', 'place', 'timeLimit', 'department', 'recorder', 'startWhen', 'process', 'endWhen', 'method', 'remarks'] as const;

/** The seed document's data rows: tab-separated, the header repeated on each source page. */
function seedRows(): string[][] {
  return readFileSync(SEED, 'utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, '').split('\t'))
    .filter((cells) => /^\d+$/.test(cells[0]!));
}

describe('the 2024 checklist', () => {
  const checklist = loadChecklist();

  it('has the 32 rows of the seed document, each with 13 columns', () => {
    const rows = seedRows();
    expect(rows).toHaveLength(32);
    for (const row of rows) expect(row).toHaveLength(13);
    expect(checklist.items).toHaveLength(32);
  });

  it('equals the seed document in every one of the 32 × 13 cells', () => {
    const rows = seedRows();
    let compared = 0;
    rows.forEach((cells, r) => {
      const item = checklist.items[r]!;
      COLUMNS.forEach((column, c) => {
        expect(String(item[column]), `item ${cells[0]} column ${column}`).toBe(cells[c]);
        compared++;
      });
    });
    expect(compared).toBe(32 * 13);
  });

  it('keeps rows cut short in the source as given', () => {
    expect(checklist.items[4]!.process.endsWith('进行检查的过')).toBe(true);
  });

  it('defines the procedure templates of CONTRACTS.md', () => {
    const templates = Object.fromEntries(checklist.procedures.map((p) => [p.id, p.items]));
    const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
    expect(templates).toEqual({
      'penalty-hearing': range(18, 25),
      interview: [16],
      'statement-defence': [15],
      'hearing-notice': [17],
      'on-site-inspection': range(1, 9),
      're-inspection': [10],
      'evidence-collection': range(11, 14),
      'service-direct': [26],
      'service-lodged': [27],
      'service-entrusted': [28],
      obstruction: [29],
      seizure: [30, 31],
      'seizure-release': [32],
    });
    for (const p of checklist.procedures) {
      const category = new Set(p.items.map((n) => checklist.items[n - 1]!.category));
      expect(category.size, `${p.id} stays within one 执法类别`).toBe(1);
    }
  });
});
