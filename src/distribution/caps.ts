/**
 * Buyer caps: the most leads a buyer takes per hour, day, week, month and in total, counted in
 * the buyer's own timezone (its "day" is its midnight to midnight; weeks start Monday, ISO 8601).
 *
 * The counters themselves live elsewhere (an atomic reservation per window in MongoDB, later);
 * this module only names the windows. A window key is stable text, so the reservation document
 * of a buyer's window is simply `${buyer}:${key}` (reservationId):
 *
 *   hour:2026-12-01T13   day:2026-12-01   week:2026-W49   month:2026-12   total
 *
 * The one wall-clock hour that a fall-back repeats is two real hours; the second one's key
 * carries its UTC offset (hour:2026-11-01T01-05:00) so each real hour has its own budget.
 * On a spring-forward day the skipped hour simply has no key; the day still has one key.
 */
import { z } from 'zod';
import { addDays, formatDate, formatOffset, HOUR_MS, isoWeekday, localTime, offsetMinutes, pad, startOfLocalDay, type LocalDate } from './zone-time.js';

export const CAP_PERIODS = ['total', 'month', 'week', 'day', 'hour'] as const;
export type CapPeriod = (typeof CAP_PERIODS)[number];

const capLimit = (what: string) => z.number().int().positive().optional().describe(`Most leads per ${what}; absent: no cap.`);

export const capsSchema = z
  .strictObject({
    hour: capLimit("clock hour in the buyer's timezone"),
    day: capLimit("calendar day in the buyer's timezone"),
    week: capLimit("ISO week (Monday 00:00 to Sunday 24:00) in the buyer's timezone"),
    month: capLimit("calendar month in the buyer's timezone"),
    total: capLimit('the life of the buyer (never resets)'),
  })
  .describe("Most leads the buyer takes per period, counted in the buyer's timezone; weeks start Monday.");

export type Caps = z.output<typeof capsSchema>;

/** Leads already counted (delivered or reserved) per window key of one buyer: a record or a lookup. */
export type CapCounts = Readonly<Record<string, number>> | ((windowKey: string) => number);

export interface CapWindow {
  period: CapPeriod;
  /** e.g. "day:2026-12-01". */
  key: string;
  limit: number;
  /** When the window ends (epoch ms): when its counter may be dropped. null for total. */
  endsAt: number | null;
}

export type CapCheck =
  | { ok: true; windows: CapWindow[] }
  | { ok: false; reason: string; period: CapPeriod; key: string; count: number; limit: number };

/** Reservation document id of one buyer's cap window. */
export function reservationId(buyer: string, windowKey: string): string {
  return `${buyer}:${windowKey}`;
}

/** The key of the window of `period` that contains `at`, in `timezone`. */
export function windowKey(period: CapPeriod, at: number | Date, timezone: string): string {
  const t = +at;
  if (period === 'total') return 'total';
  const local = localTime(t, timezone);
  switch (period) {
    case 'month':
      return `month:${local.year}-${pad(local.month)}`;
    case 'week': {
      const { weekYear, week } = isoWeek(local);
      return `week:${weekYear}-W${pad(week)}`;
    }
    case 'day':
      return `day:${formatDate(local)}`;
    case 'hour': {
      const base = `hour:${formatDate(local)}T${pad(local.hour)}`;
      return isRepeatedHour(t, timezone) ? `${base}${formatOffset(offsetMinutes(t, timezone))}` : base;
    }
  }
}

/** The capped windows that contain `at`, longest first (so a refusal names the longest wait). */
export function capWindows(caps: Caps | undefined, at: number | Date, timezone: string): CapWindow[] {
  if (!caps) return [];
  const windows: CapWindow[] = [];
  for (const period of CAP_PERIODS) {
    const limit = caps[period];
    if (limit === undefined) continue;
    const key = windowKey(period, at, timezone);
    windows.push({ period, key, limit, endsAt: windowEnd(period, key, +at, timezone) });
  }
  return windows;
}

/**
 * Whether one more lead fits every cap: ok with the windows to reserve, or the first full window
 * (longest first) with a reason like "cap day 100/100".
 */
export function checkCaps(caps: Caps | undefined, counts: CapCounts, at: number | Date, timezone: string): CapCheck {
  const windows = capWindows(caps, at, timezone);
  for (const w of windows) {
    const count = (typeof counts === 'function' ? counts(w.key) : counts[w.key]) ?? 0;
    if (count >= w.limit) return { ok: false, reason: `cap ${w.period} ${count}/${w.limit}`, period: w.period, key: w.key, count, limit: w.limit };
  }
  return { ok: true, windows };
}

/** ISO 8601 week: the week (Monday start) containing the date's Thursday belongs to that Thursday's year. */
export function isoWeek(date: LocalDate): { weekYear: number; week: number } {
  const thursday = addDays(date, 4 - isoWeekday(date));
  const dayOfYear = (Date.UTC(thursday.year, thursday.month - 1, thursday.day) - Date.UTC(thursday.year, 0, 1)) / 86_400_000;
  return { weekYear: thursday.year, week: Math.floor(dayOfYear / 7) + 1 };
}

const repeatedHours = new Map<string, boolean>();

/** The second pass of a wall-clock hour that a fall-back repeats (remembered per zone and hour). */
function isRepeatedHour(t: number, timezone: string): boolean {
  const now = localTime(t, timezone);
  const hourStart = t - (now.minute * 60 + now.second) * 1000 - (((t % 1000) + 1000) % 1000);
  const id = `${timezone}|${hourStart}`;
  let repeated = repeatedHours.get(id);
  if (repeated === undefined) {
    const before = localTime(hourStart - 1, timezone);
    // One millisecond before this hour began, the clock already showed this very hour: a replay.
    repeated = before.hour === now.hour && before.day === now.day;
    if (repeatedHours.size >= 10_000) repeatedHours.clear();
    repeatedHours.set(id, repeated);
  }
  return repeated;
}

/**
 * A window's end depends only on its zone and key; computing it takes several Intl calls, and
 * the same few windows are asked about for every lead, so ends are remembered (bounded).
 */
const windowEnds = new Map<string, number | null>();

function windowEnd(period: CapPeriod, key: string, t: number, timezone: string): number | null {
  const id = `${timezone}|${key}`;
  let end = windowEnds.get(id);
  if (end === undefined) {
    end = computeWindowEnd(period, t, timezone);
    if (windowEnds.size >= 10_000) windowEnds.clear();
    windowEnds.set(id, end);
  }
  return end;
}

function computeWindowEnd(period: CapPeriod, t: number, timezone: string): number | null {
  const local = localTime(t, timezone);
  switch (period) {
    case 'total':
      return null;
    case 'hour':
      // Offsets change on local hour boundaries, so a local hour is one real hour.
      return t - (local.minute * 60 + local.second) * 1000 - (((t % 1000) + 1000) % 1000) + HOUR_MS;
    case 'day':
      return startOfLocalDay(addDays(local, 1), timezone);
    case 'week':
      return startOfLocalDay(addDays(local, 8 - local.weekday), timezone);
    case 'month':
      return startOfLocalDay({ year: local.year, month: local.month + 1, day: 1 }, timezone);
  }
}
