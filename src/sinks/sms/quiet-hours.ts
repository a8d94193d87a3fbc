/**
 * Quiet hours: a text goes out only inside the recipient's allowed local window (by default
 * 08:00–21:00, per market). Texting outside it breaks US state "telephone solicitation" laws and
 * UK guidance, and annoys people into opting out, so the sink defers instead: checkQuietHours
 * says when the window next opens and the lead waits on the deferral topic until then.
 *
 * Local time comes from Intl.DateTimeFormat (the IANA database in Node's ICU), no library: the
 * only arithmetic needed is "which instant has wall time HH:MM on date D in zone Z", done below
 * by offset lookup with a check, and a binary search when HH:MM falls in a spring-forward gap.
 * DST rules are never assumed (no "+1 hour in March"); a zone's offset is always asked for at
 * the instant in question, so Phoenix (no DST), Honolulu and London work the same way.
 *
 * Unknown timezone: the lead could be anywhere in its country, so a send is allowed only when
 * it is inside the window in every zone of that country (the intersection, e.g. for the US from
 * 08:00 in Honolulu to 21:00 in New York), and releaseAt is when that intersection next opens.
 */
import { z } from 'zod';
import type { Market } from '../../lead.js';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

export const quietWindowSchema = z
  .object({
    start: z.string().regex(HHMM, 'HH:MM, 00:00–23:59').describe('Local time the window opens (inclusive), HH:MM 24-hour.'),
    end: z
      .string()
      .regex(new RegExp(`${HHMM.source}|^24:00$`), 'HH:MM, 00:00–24:00')
      .describe('Local time the window closes (exclusive), HH:MM 24-hour; earlier than start wraps past midnight.'),
  })
  .refine((w) => w.start !== w.end, { message: 'start and end must differ' })
  .describe('Allowed sending window in the recipient\'s local time.');

export type QuietWindow = z.output<typeof quietWindowSchema>;
export type QuietWindows = Record<Market, QuietWindow>;

export const DEFAULT_QUIET_WINDOWS: QuietWindows = {
  US: { start: '08:00', end: '21:00' },
  UK: { start: '08:00', end: '21:00' },
};

export const quietHoursConfigSchema = z
  .object({
    US: quietWindowSchema.default(DEFAULT_QUIET_WINDOWS.US).describe('Window for US leads.'),
    UK: quietWindowSchema.default(DEFAULT_QUIET_WINDOWS.UK).describe('Window for UK leads.'),
  })
  .strict()
  .superRefine((w, ctx) => {
    for (const market of ['US', 'UK'] as const) {
      if (!commonWindowExists(market, w[market])) {
        ctx.addIssue({ code: 'custom', path: [market], message: `no instant is inside this window in every ${market} zone` });
      }
    }
  })
  .describe('Per-market allowed sending windows (local time of the recipient).');

/** The zones a lead of each market may be in; the unknown-zone rule intersects their windows. */
export const MARKET_ZONES: Record<Market, readonly string[]> = {
  US: [
    'America/New_York',
    'America/Chicago',
    'America/Denver',
    'America/Phoenix',
    'America/Los_Angeles',
    'America/Anchorage',
    'Pacific/Honolulu',
  ],
  UK: ['Europe/London'],
};

export interface QuietHoursInput {
  now: Date;
  /** IANA zone of the recipient; null (or a name the runtime does not know) means unknown. */
  zone: string | null;
  market: Market;
  windows?: QuietWindows;
}

export type QuietHoursDecision = { allowed: true } | { allowed: false; releaseAt: Date; reason: string };

export function checkQuietHours(input: QuietHoursInput): QuietHoursDecision {
  const window = (input.windows ?? DEFAULT_QUIET_WINDOWS)[input.market];
  const now = input.now.getTime();
  const w = toMinutes(window);
  const label = `${window.start}–${window.end}`;

  if (input.zone && isKnownZone(input.zone)) {
    const zone = input.zone;
    if (isOpen(now, zone, w)) return { allowed: true };
    return {
      allowed: false,
      releaseAt: new Date(nextOpening(now, zone, w)),
      reason: `quiet hours: ${formatLocal(now, zone)} in ${zone}, window ${label}`,
    };
  }

  const zones = MARKET_ZONES[input.market];
  const at = nextCommonOpening(now, zones, w);
  if (at === null) throw new Error(`quiet hours: window ${label} has no instant open in every ${input.market} zone`);
  if (at === now) return { allowed: true };
  const why = input.zone ? `timezone "${input.zone}" unknown` : 'timezone unknown';
  return {
    allowed: false,
    releaseAt: new Date(at),
    reason: `quiet hours: ${why}, window ${label} must hold in every ${input.market} zone (${zones.join(', ')})`,
  };
}

// ---- windows ----------------------------------------------------------------------------------

interface Minutes {
  start: number;
  end: number;
}

function toMinutes(w: QuietWindow): Minutes {
  const m = (s: string): number => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
  return { start: m(w.start), end: m(w.end) };
}

function inWindow(minuteOfDay: number, w: Minutes): boolean {
  return w.start < w.end ? minuteOfDay >= w.start && minuteOfDay < w.end : minuteOfDay >= w.start || minuteOfDay < w.end;
}

function isOpen(t: number, zone: string, w: Minutes): boolean {
  const p = localParts(t, zone);
  return inWindow(p.hour * 60 + p.minute, w);
}

/** The first instant after t at which the window is open in zone (t itself is closed). */
function nextOpening(t: number, zone: string, w: Minutes): number {
  const p = localParts(t, zone);
  let candidate = Number.POSITIVE_INFINITY;
  // The start wall time recurs every local day; within three local dates it has occurred after t.
  for (let day = 0; day <= 2 && candidate === Number.POSITIVE_INFINITY; day++) {
    for (const at of instantsAtWallTime(p.year, p.month, p.day + day, w.start, zone)) {
      if (at > t) {
        candidate = at;
        break;
      }
    }
  }
  // A DST change can move the wall clock into the window without passing its start (a
  // fall-back hour replayed inside it, or a jump over the start); then it opens at the change.
  const change = offsetChangeBetween(t, candidate, zone);
  if (change !== null && isOpen(change, zone, w)) return change;
  return candidate;
}

/**
 * The first instant ≥ t open in every zone: jump to the latest next opening among the closed
 * zones and check again, until all are open (a fixed point). null when the windows never overlap.
 */
function nextCommonOpening(t: number, zones: readonly string[], w: Minutes): number | null {
  let at = t;
  for (let i = 0; i < 32; i++) {
    let latest = at;
    for (const zone of zones) if (!isOpen(at, zone, w)) latest = Math.max(latest, nextOpening(at, zone, w));
    if (latest === at) return at;
    at = latest;
  }
  return null;
}

function commonWindowExists(market: Market, window: QuietWindow): boolean {
  // Sample one day in winter and one in summer: DST shifts the overlap between zones.
  const w = toMinutes(window);
  return [Date.UTC(2025, 0, 15), Date.UTC(2025, 6, 15)].every((t) => nextCommonOpening(t, MARKET_ZONES[market], w) !== null);
}

// ---- zone arithmetic --------------------------------------------------------------------------

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const knownZones = new Map<string, boolean>();

export function isKnownZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
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

function localParts(t: number, zone: string): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(zone).formatToParts(t)) {
    if (part.type in out) out[part.type as keyof LocalParts] = Number(part.value);
  }
  return out;
}

/** The zone's offset from UTC at instant t, in minutes (New York in winter: -300). */
function offsetMinutes(t: number, zone: string): number {
  const p = localParts(t, zone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return Math.round((wall - Math.floor(t / 1000) * 1000) / 60_000);
}

/**
 * The instants at which zone's wall clock shows minuteOfDay on the given local date (Date.UTC
 * normalises day overflow): one normally, two in a fall-back hour (earliest first), and in a
 * spring-forward gap the instant the clocks jump, which is when that wall time is first passed.
 */
function instantsAtWallTime(year: number, month: number, day: number, minuteOfDay: number, zone: string): number[] {
  const wall = Date.UTC(year, month - 1, day, 0, minuteOfDay);
  const offsets = new Set([offsetMinutes(wall - 86_400_000, zone), offsetMinutes(wall, zone), offsetMinutes(wall + 86_400_000, zone)]);
  const found = [...offsets].map((off) => wall - off * 60_000).filter((t) => wallClock(t, zone) === wall);
  if (found.length > 0) return [...new Set(found)].sort((a, b) => a - b);
  // In a gap: between the two candidate instants the clock jumps past `wall`; find the jump.
  const candidates = [...offsets].map((off) => wall - off * 60_000);
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (wallClock(mid, zone) >= wall) hi = mid;
    else lo = mid;
  }
  return [hi];
}

/** Zone's wall clock at t, as if it were UTC milliseconds (whole seconds). */
function wallClock(t: number, zone: string): number {
  const p = localParts(t, zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
}

/** The first instant in (a, b] at which zone's offset differs from its offset at a, or null. */
function offsetChangeBetween(a: number, b: number, zone: string): number | null {
  if (!Number.isFinite(b)) return null;
  const base = offsetMinutes(a, zone);
  if (offsetMinutes(b, zone) === base) return null; // at most one change fits in ~3 days
  let lo = a;
  let hi = b;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutes(mid, zone) === base) lo = mid;
    else hi = mid;
  }
  // Offsets change on whole seconds; step to the exact one.
  const second = Math.ceil(lo / 1000) * 1000;
  for (let s = second; s <= hi + 1000; s += 1000) if (offsetMinutes(s, zone) !== base) return s;
  return hi;
}

function formatLocal(t: number, zone: string): string {
  const p = localParts(t, zone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}
