// Instants come from the API as ISO 8601 UTC strings; people read them in Beijing time.

export const DISPLAY_TIME_ZONE = 'Asia/Shanghai';

const formatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: DISPLAY_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** `2026-12-04T08:00:00.123Z` → `2026-12-04 16:00:00` (Asia/Shanghai); keeps unparseable input as is. */
export function formatInstant(iso: string | null | undefined, withMs = false): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const part: Record<string, string> = {};
  for (const p of formatter.formatToParts(date)) part[p.type] = p.value;
  const ms = withMs ? `.${String(date.getUTCMilliseconds()).padStart(3, '0')}` : '';
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}${ms}`;
}
