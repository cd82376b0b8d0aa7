import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';

export const HOLIDAY_FILE = fileURLToPath(new URL('../../../config/holidays-cn.yaml', import.meta.url));

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateOrRange = z.string().regex(/^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?$/, 'a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD');
const calendarFile = z.strictObject({
  years: z.record(
    z.string().regex(/^\d{4}$/),
    z.strictObject({ holidays: z.array(dateOrRange).default([]), workdays: z.array(z.string().regex(DATE)).default([]) }),
  ),
});

const DAY_MS = 86_400_000;
const toDayNumber = (date: string): number => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const fromDayNumber = (n: number): string => new Date(n * DAY_MS).toISOString().slice(0, 10);

/** Counted days between two dates, and whether the calendar knew every year on the way. */
export interface DayCount {
  days: number;
  /** Years the count crossed that the calendar does not list (judged on weekdays only). */
  unknownYears: number[];
}

/**
 * Working days by the official calendar: Monday to Friday, less statutory holidays, plus the
 * make-up working days on weekends. Dates are calendar dates (YYYY-MM-DD, Asia/Shanghai).
 */
export class HolidayCalendar {
  private readonly holidays = new Set<string>();
  private readonly workdays = new Set<string>();
  private readonly years = new Set<number>();

  constructor(data: z.infer<typeof calendarFile>) {
    for (const [year, spec] of Object.entries(data.years)) {
      this.years.add(Number(year));
      for (const entry of spec.holidays) {
        const [from, to = from] = entry.split('..') as [string, string?];
        for (let d = toDayNumber(from); d <= toDayNumber(to); d++) this.holidays.add(fromDayNumber(d));
      }
      for (const d of spec.workdays) this.workdays.add(d);
    }
  }

  static load(file = HOLIDAY_FILE): HolidayCalendar {
    const parsed = calendarFile.safeParse(parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      throw new Error(`${file}: invalid holiday calendar:\n  ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);
    }
    return new HolidayCalendar(parsed.data);
  }

  covers(date: string): boolean {
    return this.years.has(Number(date.slice(0, 4)));
  }

  isWorkingDay(date: string): boolean {
    if (this.workdays.has(date)) return true;
    if (this.holidays.has(date)) return false;
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
    return weekday !== 0 && weekday !== 6;
  }

  /**
   * Days after `from` up to and including `to` (the day a period starts from is not counted), as
   * calendar days or as working days. Negative when `to` is before `from`.
   */
  count(from: string, to: string, kind: 'calendar' | 'working'): DayCount {
    const a = toDayNumber(from);
    const b = toDayNumber(to);
    if (kind === 'calendar') return { days: b - a, unknownYears: [] };
    const [lo, hi, sign] = b >= a ? [a, b, 1] : [b, a, -1];
    let days = 0;
    const unknown = new Set<number>();
    for (let d = lo + 1; d <= hi; d++) {
      const date = fromDayNumber(d);
      if (!this.covers(date)) unknown.add(Number(date.slice(0, 4)));
      if (this.isWorkingDay(date)) days++;
    }
    return { days: sign * days, unknownYears: [...unknown].sort() };
  }
}
