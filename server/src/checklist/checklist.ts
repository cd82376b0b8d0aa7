import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const CHECKLIST_FILE = fileURLToPath(new URL('../../../config/checklist-2024.yaml', import.meta.url));

const item = z.strictObject({
  item: z.number().int().positive(),
  category: z.string(),
  project: z.string(),
  matter: z.string(),
  place: z.string(),
  timeLimit: z.string(),
  department: z.string(),
  recorder: z.string(),
  startWhen: z.string(),
  process: z.string(),
  endWhen: z.string(),
  method: z.string(),
  remarks: z.string(),
});

const procedure = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  name: z.string().min(1),
  items: z.array(z.number().int().positive()).min(1),
  roomKinds: z.array(z.enum(['hearing', 'interview'])),
});

const checklistFile = z.strictObject({
  title: z.string(),
  edition: z.string(),
  procedures: z.array(procedure),
  items: z.array(item),
});

export type ChecklistItem = z.infer<typeof item>;
export type Procedure = z.infer<typeof procedure>;
export type Checklist = z.infer<typeof checklistFile>;

/** Loads the checklist and its session templates, checking that they refer to each other correctly. */
export function loadChecklist(file = CHECKLIST_FILE): Checklist {
  const parsed = checklistFile.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`${file}: invalid checklist:\n  ${lines.join('\n  ')}`);
  }
  const checklist = parsed.data;
  const problems: string[] = [];
  const numbers = new Set<number>();
  for (const row of checklist.items) {
    if (numbers.has(row.item)) problems.push(`items: item ${row.item} appears twice`);
    numbers.add(row.item);
  }
  const ids = new Set<string>();
  for (const p of checklist.procedures) {
    if (ids.has(p.id)) problems.push(`procedures: id ${p.id} appears twice`);
    ids.add(p.id);
    for (const n of p.items) if (!numbers.has(n)) problems.push(`procedures.${p.id}: item ${n} is not in the checklist`);
  }
  if (problems.length > 0) throw new Error(`${file}: invalid checklist:\n  ${problems.join('\n  ')}`);
  return checklist;
}
