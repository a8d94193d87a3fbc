/**
 * Current UTC offset and DST flag of an IANA zone, O(1) per call.
 *
 * Intl.DateTimeFormat is the only source of truth for offsets (it carries the tz database the
 * Node build ships, so a rule change arrives with a Node upgrade, not with a code change), but
 * formatting is ~microseconds, far too slow to run per lead at a million lookups a second.
 * Every US and UK transition happens on a whole UTC hour, so an offset computed once per zone
 * per UTC hour is exact; the DST flag only changes with the year.
 */

const HOUR_MS = 3_600_000;

/** One zone's cached answers. */
interface ZoneState {
  formatter: Intl.DateTimeFormat;
  hour: number;
  offsetMinutes: number;
  dstYear: number;
  dst: boolean;
}

export class ZoneOffsets {
  private readonly zones = new Map<string, ZoneState>();

  /** Throws RangeError for a zone the runtime does not know, so callers can reject it at load time. */
  private state(zone: string): ZoneState {
    let s = this.zones.get(zone);
    if (!s) {
      s = {
        formatter: new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }),
        hour: Number.NaN,
        offsetMinutes: 0,
        dstYear: Number.NaN,
        dst: false,
      };
      this.zones.set(zone, s);
    }
    return s;
  }

  /** Offset from UTC in minutes at `atMs` (e.g. -300 for New York in winter). */
  offsetMinutes(zone: string, atMs: number): number {
    const s = this.state(zone);
    const hour = Math.floor(atMs / HOUR_MS);
    if (hour !== s.hour) {
      s.offsetMinutes = offsetAt(s.formatter, atMs);
      s.hour = hour;
    }
    return s.offsetMinutes;
  }

  /** Whether the zone observes DST in the year of `atMs`: its January and July offsets differ. */
  observesDst(zone: string, atMs: number): boolean {
    const s = this.state(zone);
    const year = new Date(atMs).getUTCFullYear();
    if (year !== s.dstYear) {
      s.dst = offsetAt(s.formatter, Date.UTC(year, 0, 15)) !== offsetAt(s.formatter, Date.UTC(year, 6, 15));
      s.dstYear = year;
    }
    return s.dst;
  }

  /** True when the runtime's tz database knows the zone. */
  static isKnownZone(zone: string): boolean {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  }
}

/** "GMT-05:00" / "GMT+05:30" / "GMT" → minutes. */
function offsetAt(formatter: Intl.DateTimeFormat, atMs: number): number {
  const part = formatter.formatToParts(atMs).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /^GMT([+-])(\d{2}):(\d{2})$/.exec(part);
  if (!m) return 0; // plain "GMT": UTC itself
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}
