import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeNextOpening, isOpen, nextOpening, scheduleSchema, type Schedule } from '../../src/distribution/schedule.js';

const schedule = (raw: unknown): Schedule => scheduleSchema.parse(raw);
const weekdays9to5 = schedule({ mon: [['09:00', '17:00']], tue: [['09:00', '17:00']], wed: [['09:00', '17:00']], thu: [['09:00', '17:00']], fri: [['09:00', '17:00']] });
const CHICAGO = 'America/Chicago';
const NEW_YORK = 'America/New_York';

function opensAt(s: Schedule, zone: string, now: string, expected: string): void {
  const next = nextOpening(s, zone, new Date(now));
  assert.ok(next, `${now} in ${zone}: expected an opening`);
  assert.equal(next.toISOString(), new Date(expected).toISOString(), `${now} in ${zone}`);
  assert.ok(isOpen(s, zone, next), 'the opening found is open');
  if (next.getTime() > Date.parse(now)) assert.ok(!isOpen(s, zone, next.getTime() - 1), 'closed the millisecond before the opening');
}

describe('isOpen', () => {
  test('no schedule: always open', () => {
    assert.equal(isOpen(undefined, CHICAGO, Date.parse('2026-12-25T03:00:00Z')), true);
    assert.equal(nextOpening(undefined, CHICAGO, Date.parse('2026-12-25T03:00:00Z'))?.toISOString(), '2026-12-25T03:00:00.000Z');
  });

  test("weekday hours in the buyer's zone, close exclusive", () => {
    assert.equal(isOpen(weekdays9to5, CHICAGO, new Date('2026-03-06T15:00:00Z')), true); // Fri 09:00 CST
    assert.equal(isOpen(weekdays9to5, CHICAGO, new Date('2026-03-06T14:59:59Z')), false); // 08:59:59
    assert.equal(isOpen(weekdays9to5, CHICAGO, new Date('2026-03-06T22:59:59Z')), true); // 16:59:59
    assert.equal(isOpen(weekdays9to5, CHICAGO, new Date('2026-03-06T23:00:00Z')), false); // 17:00
    assert.equal(isOpen(weekdays9to5, CHICAGO, new Date('2026-03-07T18:00:00Z')), false); // Saturday noon
    // The same instant is Friday 18:00 in New York: closed there, open nowhere else matters.
    assert.equal(isOpen(weekdays9to5, 'America/Los_Angeles', new Date('2026-03-06T23:00:00Z')), true); // 15:00 PST
  });

  test('a weekday not listed is closed; no weekday listed means every day', () => {
    const mondays = schedule({ mon: [['00:00', '24:00']] });
    assert.equal(isOpen(mondays, CHICAGO, new Date('2026-11-30T12:00:00Z')), true); // Mon
    assert.equal(isOpen(mondays, CHICAGO, new Date('2026-12-01T12:00:00Z')), false); // Tue
    const holidaysOnly = schedule({ holidays: ['2026-12-25'] });
    assert.equal(isOpen(holidaysOnly, CHICAGO, new Date('2026-12-26T12:00:00Z')), true);
    assert.equal(isOpen(holidaysOnly, CHICAGO, new Date('2026-12-25T12:00:00Z')), false);
  });

  test('a window past midnight belongs to the day it opens', () => {
    const late = schedule({ fri: [['22:00', '02:00']] });
    assert.equal(isOpen(late, CHICAGO, new Date('2026-03-07T03:59:00Z')), false); // Fri 21:59 CST
    assert.equal(isOpen(late, CHICAGO, new Date('2026-03-07T04:00:00Z')), true); // Fri 22:00
    assert.equal(isOpen(late, CHICAGO, new Date('2026-03-07T07:00:00Z')), true); // Sat 01:00
    assert.equal(isOpen(late, CHICAGO, new Date('2026-03-07T08:00:00Z')), false); // Sat 02:00
    assert.equal(isOpen(late, CHICAGO, new Date('2026-03-08T07:00:00Z')), false); // Sun 01:00: Saturday has no window
    opensAt(late, CHICAGO, '2026-03-07T03:00:00Z', '2026-03-07T04:00:00Z');
  });
});

describe('holidays close the whole local date in the buyer zone', () => {
  const withChristmas = schedule({ ...weekdays9to5, holidays: ['2026-12-25'] });

  test('closed all day, open again on the next working day', () => {
    assert.equal(isOpen(withChristmas, CHICAGO, new Date('2026-12-25T16:00:00Z')), false); // Fri 10:00 CST
    opensAt(withChristmas, CHICAGO, '2026-12-25T16:00:00Z', '2026-12-28T15:00:00Z'); // Mon 09:00 CST
    assert.equal(describeNextOpening(withChristmas, CHICAGO, new Date('2026-12-25T16:00:00Z')), 'opens Mon 09:00 America/Chicago');
  });

  test('the holiday is the date in the buyer zone, not in UTC', () => {
    const allWeek = schedule({ holidays: ['2026-12-25'] });
    assert.equal(isOpen(allWeek, CHICAGO, new Date('2026-12-25T03:00:00Z')), true); // Dec 24 21:00 CST, already the 25th in UTC
    assert.equal(isOpen(allWeek, CHICAGO, new Date('2026-12-26T02:00:00Z')), false); // Dec 25 20:00 CST
    opensAt(allWeek, CHICAGO, '2026-12-25T12:00:00Z', '2026-12-26T06:00:00Z'); // Chicago midnight
    opensAt(allWeek, 'Asia/Tokyo', '2026-12-25T12:00:00Z', '2026-12-25T15:00:00Z'); // Tokyo midnight
  });

  test('a holiday cuts the tail of the window opened the day before, and a window opened on it', () => {
    const nights = schedule({ thu: [['22:00', '02:00']], fri: [['22:00', '02:00']], holidays: ['2026-12-25'] });
    assert.equal(isOpen(nights, CHICAGO, new Date('2026-12-25T05:00:00Z')), true); // Thu 23:00 CST
    assert.equal(isOpen(nights, CHICAGO, new Date('2026-12-25T07:00:00Z')), false); // Fri 01:00 (holiday)
    assert.equal(isOpen(nights, CHICAGO, new Date('2026-12-26T04:30:00Z')), false); // Fri 22:30 (holiday)
    // Friday's window, opened on the holiday, resumes when Saturday starts.
    opensAt(nights, CHICAGO, '2026-12-26T03:00:00Z', '2026-12-26T06:00:00Z');
  });
});

describe('DST in the buyer zone', () => {
  test('spring forward (New York 2026-03-08): a 09:00 opening stays 09:00 local', () => {
    // Friday 17:00 EST → Monday 09:00 EDT = 13:00Z, not 14:00Z as Friday's offset would say.
    opensAt(weekdays9to5, NEW_YORK, '2026-03-06T22:00:00Z', '2026-03-09T13:00:00Z');
    opensAt(weekdays9to5, CHICAGO, '2026-03-06T23:00:00Z', '2026-03-09T14:00:00Z');
    assert.equal(describeNextOpening(weekdays9to5, CHICAGO, new Date('2026-03-06T23:00:00Z')), 'opens Mon 09:00 America/Chicago');
  });

  test('spring forward: a window that starts in the skipped hour opens at the jump', () => {
    const s = schedule({ sun: [['02:30', '05:00']] });
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-03-08T06:59:59Z')), false); // 01:59:59 EST
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-03-08T07:00:00Z')), true); // 03:00 EDT
    opensAt(s, NEW_YORK, '2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z');
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-03-08T09:00:00Z')), false); // 05:00 EDT
  });

  test('fall back (New York 2026-11-01): the repeated hour opens the window twice', () => {
    const s = schedule({ sun: [['01:00', '01:30']] });
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-11-01T05:15:00Z')), true); // 01:15 EDT
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-11-01T05:30:00Z')), false); // 01:30 EDT
    opensAt(s, NEW_YORK, '2026-11-01T05:30:00Z', '2026-11-01T06:00:00Z'); // the change: 01:00 EST
    assert.equal(isOpen(s, NEW_YORK, new Date('2026-11-01T06:29:59Z')), true);
    opensAt(s, NEW_YORK, '2026-11-01T06:30:00Z', '2026-11-08T06:00:00Z'); // next Sunday 01:00 EST
  });

  test('fall back: weekday hours keep their wall time (Monday 09:00 EST = 14:00Z)', () => {
    opensAt(weekdays9to5, NEW_YORK, '2026-10-30T21:00:00Z', '2026-11-02T14:00:00Z');
  });

  test('a zone without DST (Phoenix) is steady', () => {
    opensAt(weekdays9to5, 'America/Phoenix', '2026-03-07T00:00:00Z', '2026-03-09T16:00:00Z');
    opensAt(weekdays9to5, 'America/Phoenix', '2026-11-01T00:00:00Z', '2026-11-02T16:00:00Z');
  });
});

describe('nextOpening and its description', () => {
  test('never open', () => {
    const closed = schedule({ mon: [] });
    assert.equal(nextOpening(closed, CHICAGO, Date.parse('2026-03-06T12:00:00Z')), null);
    assert.match(describeNextOpening(closed, CHICAGO, Date.parse('2026-03-06T12:00:00Z')), /no opening within a year/);
  });

  test('answers stay right when asked again later or earlier in the same closure (memoised search)', () => {
    const s = schedule(weekdays9to5);
    opensAt(s, CHICAGO, '2026-03-06T23:00:00Z', '2026-03-09T14:00:00Z'); // Fri 17:00 CST
    opensAt(s, CHICAGO, '2026-03-08T18:00:00Z', '2026-03-09T14:00:00Z'); // Sun noon: same closure
    opensAt(s, CHICAGO, '2026-03-06T03:00:00Z', '2026-03-06T15:00:00Z'); // Thu night: before it
    opensAt(s, CHICAGO, '2026-03-09T23:30:00Z', '2026-03-10T14:00:00Z'); // Mon 18:30 CDT: after it
    opensAt(s, NEW_YORK, '2026-03-07T12:00:00Z', '2026-03-09T13:00:00Z'); // another zone, same schedule
    assert.equal(nextOpening(s, CHICAGO, Date.parse('2026-03-09T15:00:00Z'))?.toISOString(), '2026-03-09T15:00:00.000Z'); // open now
  });

  test('an opening a week or more away names the date', () => {
    const s = schedule({ mon: [['09:00', '17:00']], holidays: ['2026-12-28'] });
    assert.equal(describeNextOpening(s, CHICAGO, Date.parse('2026-12-25T16:00:00Z')), 'opens 2027-01-04 Mon 09:00 America/Chicago');
  });
});

describe('scheduleSchema', () => {
  test('lists every problem with its path', () => {
    const r = scheduleSchema.safeParse({ mon: [['9:00', '17:00']], tue: [['10:00', '10:00']], holidays: ['2026-02-30', 'Dec 25'], monday: [] });
    assert.ok(!r.success);
    const problems = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(problems.some((p) => p.startsWith('mon.0.0: opening time must be HH:MM')), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('tue.0: opening and closing times must differ')), problems.join('\n'));
    assert.ok(problems.some((p) => p === 'holidays.0: not a real calendar date'), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('holidays.1: a holiday is a date')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('monday')), problems.join('\n'));
  });

  test('24:00 closes at midnight; holidays default to none', () => {
    const s = schedule({ sat: [['18:00', '24:00']] });
    assert.deepEqual(s.holidays, []);
    assert.equal(isOpen(s, CHICAGO, new Date('2026-03-08T05:59:00Z')), true); // Sat 23:59 CST
    assert.equal(isOpen(s, CHICAGO, new Date('2026-03-08T06:00:00Z')), false); // Sun 00:00
  });
});

describe('nextOpening against a minute-by-minute scan', () => {
  // Zones with unusual transitions: 30-minute DST (Lord Howe), DST at midnight (Santiago),
  // 45-minute offsets (Chatham), southern-hemisphere DST, and none (Kolkata).
  const zones = [NEW_YORK, 'Europe/London', 'Australia/Lord_Howe', 'America/Santiago', 'Pacific/Chatham', 'Asia/Kolkata', 'America/St_Johns'];
  // Instants near 2026 DST changes of those zones, and an ordinary week.
  const starts = ['2026-03-07T12:00:00Z', '2026-03-28T12:00:00Z', '2026-04-04T00:00:00Z', '2026-09-05T12:00:00Z', '2026-09-26T12:00:00Z', '2026-10-03T12:00:00Z', '2026-10-24T12:00:00Z', '2026-10-31T12:00:00Z', '2026-06-10T12:00:00Z'];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

  test('same answer for random schedules (wrapping windows, holidays) across DST', () => {
    let closedAtStart = 0;
    for (let i = 0; i < 40; i++) {
      const zone = zones[i % zones.length]!;
      const from = Date.parse(starts[rand(starts.length)]!) + rand(48) * 30 * 60_000;
      const raw: Record<string, unknown> = {};
      for (const day of ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']) {
        if (rand(3) === 0) continue;
        const open = rand(48) * 30;
        let close = rand(48) * 30;
        if (close === open) close = (open + 90) % 1440;
        raw[day] = [[hhmm(open), hhmm(close)]];
      }
      if (Object.keys(raw).length === 0) raw.wed = [['01:30', '02:30']];
      const d = new Date(from + rand(3) * 86_400_000);
      raw.holidays = rand(2) ? [d.toISOString().slice(0, 10)] : [];
      const s = schedule(raw);
      const got = nextOpening(s, zone, from);
      let expected: number | null = null;
      for (let t = from; t < from + 9 * 86_400_000; t += 60_000) {
        if (isOpen(s, zone, t)) {
          expected = t;
          break;
        }
      }
      assert.equal(got?.getTime() ?? null, expected, `case ${i}: ${zone} from ${new Date(from).toISOString()} ${JSON.stringify(raw)}`);
      if (expected !== from) closedAtStart++;
    }
    assert.ok(closedAtStart >= 15, `only ${closedAtStart} cases started closed`);
  });
});
