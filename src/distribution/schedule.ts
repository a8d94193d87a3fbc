/**
 * A buyer's open hours: when its call center or its contract takes leads, in the buyer's own
 * timezone (not the lead's: a Chicago buyer closes at 17:00 Chicago time wherever the lead lives).
 *
 * Rules, as the schema documents them to ops:
 *   - no schedule at all: always open;
 *   - a schedule that lists no weekday: open all day every day except holidays;
 *   - otherwise a weekday that is not listed (or is listed as []) is closed;
 *   - a window is [open, close) in local wall time; close earlier than open runs past midnight
 *     into the next day and belongs to the day it opened on (Fri 22:00–02:00 is open Sat 01:00);
 *   - a holiday closes its whole local date, including the tail of a window opened the day before.
 * Everything is decided on the wall clock, so DST needs no special case: on a spring-forward day
 * a 09:00 opening is still 09:00 local, and a window that the jump lands in opens at the jump.
 */
import { z } from 'zod';
import {
  addDays,
  DAY_MS,
  formatDate,
  formatHhMm,
  instantsAtWallTime,
  localTime,
  offsetChangeBetween,
  startOfLocalDay,
  WEEKDAY_NAMES,
  type LocalTime,
} from './zone-time.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_OR_24 = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

const windowSchema = z
  .tuple([
    z.string().regex(HHMM, 'opening time must be HH:MM, 00:00–23:59'),
    z.string().regex(HHMM_OR_24, 'closing time must be HH:MM, 00:00–24:00'),
  ])
  .refine(([open, close]) => open !== close, { error: 'opening and closing times must differ (use ["00:00", "24:00"] for all day)' })
  .describe('[open, close) in local wall time, HH:MM 24-hour; a close earlier than open runs past midnight into the next day.');

const daySchema = (day: string) => z.array(windowSchema).optional().describe(`Open windows on ${day}; [] or absent means closed (when any weekday is listed).`);

const holidaySchema = z
  .string()
  .regex(ISO_DATE, 'a holiday is a date, YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), { error: 'not a real calendar date' });

export const scheduleSchema = z
  .strictObject({
    mon: daySchema('Mondays'),
    tue: daySchema('Tuesdays'),
    wed: daySchema('Wednesdays'),
    thu: daySchema('Thursdays'),
    fri: daySchema('Fridays'),
    sat: daySchema('Saturdays'),
    sun: daySchema('Sundays'),
    holidays: z.array(holidaySchema).default([]).describe("Local dates (YYYY-MM-DD) the buyer takes no leads, all day in the buyer's timezone."),
  })
  .describe("Open hours per weekday in the buyer's timezone, plus holidays. No weekday listed: open every day except holidays.");

export type Schedule = z.output<typeof scheduleSchema>;

interface Compiled {
  /** Index 0 = Monday. Minutes of day; end > start, or end < start for a window past midnight. */
  days: { start: number; end: number }[][];
  allDay: boolean;
  holidays: Set<string>;
  /** Per zone: the last closure searched, closed from `from` until `opening` (null: a year or more). */
  openings: Map<string, { from: number; opening: number | null }>;
}

const compiledCache = new WeakMap<Schedule, Compiled>();

function compile(schedule: Schedule): Compiled {
  let c = compiledCache.get(schedule);
  if (!c) {
    const minutes = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
    c = {
      days: WEEKDAYS.map((d) => (schedule[d] ?? []).map(([open, close]) => ({ start: minutes(open), end: minutes(close) }))),
      allDay: WEEKDAYS.every((d) => schedule[d] === undefined),
      holidays: new Set(schedule.holidays),
      openings: new Map(),
    };
    compiledCache.set(schedule, c);
  }
  return c;
}

function openAtLocal(c: Compiled, local: LocalTime): boolean {
  if (c.holidays.has(formatDate(local))) return false;
  if (c.allDay) return true;
  const minute = local.hour * 60 + local.minute;
  const today = c.days[local.weekday - 1]!;
  if (today.some((w) => (w.start < w.end ? minute >= w.start && minute < w.end : minute >= w.start))) return true;
  const yesterday = c.days[(local.weekday + 5) % 7]!;
  return yesterday.some((w) => w.end < w.start && minute < w.end);
}

/** Whether the buyer takes leads at `at`. No schedule: always. */
export function isOpen(schedule: Schedule | undefined, timezone: string, at: number | Date): boolean {
  if (!schedule) return true;
  return openAtLocal(compile(schedule), localTime(+at, timezone));
}

/** How far ahead nextOpening looks: a year of holidays plus a week. */
const HORIZON_DAYS = 372;

/**
 * The first instant ≥ at at which the buyer is open (at itself when open now), or null when it
 * never opens within a year. The schedule can only turn open at a window's start, at a local
 * midnight (end of a holiday, tail of yesterday's window) or at a DST change (a fall-back replays
 * an hour inside a window; a spring-forward jumps into one); those are the candidates, checked
 * day by day in time order, each confirmed with isOpen.
 */
export function nextOpening(schedule: Schedule | undefined, timezone: string, at: number | Date): Date | null {
  const t = +at;
  if (isOpen(schedule, timezone, t)) return new Date(t);
  const c = compile(schedule!);
  // Closed from `from` until `opening`: any instant in between opens at the same time, so the
  // search (hundreds of Intl calls on a long weekend) runs once per closure, not once per lead.
  const known = c.openings.get(timezone);
  if (known && t >= known.from && t < (known.opening ?? known.from + DAY_MS)) return known.opening === null ? null : new Date(known.opening);
  const opening = searchOpening(c, timezone, t);
  if (c.openings.size >= 100) c.openings.clear();
  c.openings.set(timezone, { from: t, opening });
  return opening === null ? null : new Date(opening);
}

function searchOpening(c: Compiled, timezone: string, t: number): number | null {
  const today = localTime(t, timezone);
  let dayStart = startOfLocalDay(today, timezone);
  for (let i = 0; i < HORIZON_DAYS; i++) {
    const date = addDays(today, i);
    const nextDayStart = startOfLocalDay(addDays(date, 1), timezone);
    const candidates = [dayStart];
    if (!c.holidays.has(formatDate(date))) {
      for (const w of c.days[(i + today.weekday - 1) % 7] ?? []) candidates.push(...instantsAtWallTime(date, w.start, timezone));
    }
    // Only a change inside this local day: one early tomorrow must not beat tomorrow's midnight.
    const change = offsetChangeBetween(dayStart, nextDayStart - 1, timezone);
    if (change !== null) candidates.push(change);
    const found = candidates.filter((x) => x > t && openAtLocal(c, localTime(x, timezone))).sort((a, b) => a - b)[0];
    if (found !== undefined) return found;
    dayStart = nextDayStart;
  }
  return null;
}

/**
 * Why a closed buyer is closed, for plans and explanations: "opens Mon 09:00 America/Chicago",
 * with the date when the opening is six days or more away (a weekday name alone would then be
 * ambiguous), or "no opening within a year".
 */
export function describeNextOpening(schedule: Schedule | undefined, timezone: string, at: number | Date): string {
  const next = nextOpening(schedule, timezone, at);
  if (!next) return `no opening within a year (${timezone})`;
  const id = `${timezone}|${+next}`;
  let label = openingLabels.get(id);
  if (!label) {
    const local = localTime(+next, timezone);
    label = { date: formatDate(local), when: `${WEEKDAY_NAMES[local.weekday - 1]} ${formatHhMm(local.hour * 60 + local.minute)}` };
    if (openingLabels.size >= 1000) openingLabels.clear();
    openingLabels.set(id, label);
  }
  const far = +next - +at >= 6 * DAY_MS;
  return `opens ${far ? `${label.date} ` : ''}${label.when} ${timezone}`;
}

/** Openings as people read them, by zone and instant: every lead in a closure shows the same one. */
const openingLabels = new Map<string, { date: string; when: string }>();
