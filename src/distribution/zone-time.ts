/**
 * Wall-clock arithmetic in a buyer's IANA zone, without a date library.
 *
 * Intl.DateTimeFormat (the tz database of Node's ICU) is the only source of offsets, so a rule
 * change arrives with a Node upgrade and no DST rule is ever assumed. The two questions a buyer's
 * schedule and caps ask are "what does the wall clock show at instant t" (localTime) and "which
 * instants show wall time HH:MM on local date D" (instantsAtWallTime: one, two in a fall-back
 * hour, or the instant the clocks jump when HH:MM falls in a spring-forward gap). The technique
 * is the one src/sinks/sms/quiet-hours.ts uses; it is repeated here so this folder stays pure and
 * does not depend on a sink that is being rewritten.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: 1 = Monday … 7 = Sunday. */
  weekday: number;
}

/** A local calendar date; day and month may overflow before normalisation (Date.UTC does it). */
export interface LocalDate {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const knownZones = new Map<string, boolean>();

/** True when the runtime's tz database knows the zone ("America/Chicago"), false for typos. */
export function isKnownZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = zone.trim() !== '';
    } catch {
      known = false;
    }
    if (knownZones.size < 10_000) knownZones.set(zone, known);
  }
  return known;
}

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The last answer per zone: a plan asks every buyer about the same instant, and most buyers
 * share a handful of zones, so one Intl call per zone per lead is enough (Intl is ~µs a call).
 */
const lastLocal = new Map<string, { t: number; local: Readonly<LocalTime> }>();

export function localTime(t: number, zone: string): Readonly<LocalTime> {
  const last = lastLocal.get(zone);
  if (last?.t === t) return last.local;
  const local = computeLocalTime(t, zone);
  if (last || lastLocal.size < 10_000) lastLocal.set(zone, { t, local });
  return local;
}

function computeLocalTime(t: number, zone: string): LocalTime {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatter(zone).formatToParts(t)) {
    if (part.type === 'year' || part.type === 'month' || part.type === 'day' || part.type === 'hour' || part.type === 'minute' || part.type === 'second') {
      out[part.type] = Number(part.value);
    }
  }
  out.weekday = isoWeekday(out);
  return out;
}

/** ISO weekday (1 = Monday) of a local date. */
export function isoWeekday(date: LocalDate): number {
  const sundayZero = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return sundayZero === 0 ? 7 : sundayZero;
}

/** The date `days` after `date` (negative: before), normalised. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function formatDate(date: LocalDate): string {
  return `${date.year}-${pad(date.month)}-${pad(date.day)}`;
}

export function formatHhMm(minuteOfDay: number): string {
  return `${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}`;
}

export function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** The zone's wall clock at t, as if it were UTC milliseconds (whole seconds). */
function wallClock(t: number, zone: string): number {
  const p = localTime(t, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** Offset from UTC at instant t, in minutes (New York in winter: -300). */
export function offsetMinutes(t: number, zone: string): number {
  return Math.round((wallClock(t, zone) - Math.floor(t / 1000) * 1000) / MINUTE_MS);
}

/** "-05:00", "+10:00", "+05:30". */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * The instants at which zone's wall clock shows minuteOfDay on the given local date: one
 * normally, two in a fall-back hour (earliest first), and in a spring-forward gap the instant the
 * clocks jump, which is when that wall time is first passed.
 */
export function instantsAtWallTime(date: LocalDate, minuteOfDay: number, zone: string): number[] {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minuteOfDay);
  const offsets = new Set([offsetMinutes(wall - DAY_MS, zone), offsetMinutes(wall, zone), offsetMinutes(wall + DAY_MS, zone)]);
  const candidates = [...offsets].map((off) => wall - off * MINUTE_MS);
  const found = candidates.filter((t) => wallClock(t, zone) === wall);
  if (found.length > 0) return [...new Set(found)].sort((a, b) => a - b);
  // In a gap: between the candidate instants the clock jumps past `wall`; find the jump.
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return [hi];
}

/** The first instant of a local date (its midnight, or the jump when midnight itself is skipped). */
export function startOfLocalDay(date: LocalDate, zone: string): number {
  return instantsAtWallTime(date, 0, zone)[0]!;
}

/**
 * The first instant in (a, b] at which zone's offset differs from its offset at a, or null.
 * Callers pass spans of about a day, in which at most one change happens.
 */
export function offsetChangeBetween(a: number, b: number, zone: string): number | null {
  const base = offsetMinutes(a, zone);
  if (offsetMinutes(b, zone) === base) return null;
  let lo = a;
  let hi = b;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutes(mid, zone) === base) lo = mid;
    else hi = mid;
  }
  // Offsets change on whole seconds; step to the exact one.
  for (let s = Math.ceil(lo / 1000) * 1000; s <= hi; s += 1000) if (offsetMinutes(s, zone) !== base) return s;
  return hi;
}

export const WEEKDAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
