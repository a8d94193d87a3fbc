import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { capsSchema, capWindows, checkCaps, isoWeek, reservationId, windowKey, type CapPeriod } from '../../src/distribution/caps.js';

const CHICAGO = 'America/Chicago';
const NEW_YORK = 'America/New_York';
const key = (period: CapPeriod, iso: string, zone = CHICAGO) => windowKey(period, new Date(iso), zone);

describe('window keys at every boundary, in the buyer zone', () => {
  test('hour', () => {
    assert.equal(key('hour', '2026-12-01T19:59:59.999Z'), 'hour:2026-12-01T13');
    assert.equal(key('hour', '2026-12-01T20:00:00.000Z'), 'hour:2026-12-01T14');
  });

  test('midnight: the buyer day, not the UTC day', () => {
    assert.equal(key('day', '2026-12-01T05:59:59.999Z'), 'day:2026-11-30'); // 23:59:59 CST, already Dec 1 in UTC
    assert.equal(key('day', '2026-12-01T06:00:00.000Z'), 'day:2026-12-01');
    assert.equal(key('hour', '2026-12-01T05:59:59.999Z'), 'hour:2026-11-30T23');
    assert.equal(key('hour', '2026-12-01T06:00:00.000Z'), 'hour:2026-12-01T00');
  });

  test('Monday 00:00 starts the ISO week', () => {
    assert.equal(key('week', '2026-12-01T12:00:00Z'), 'week:2026-W49');
    assert.equal(key('week', '2026-12-07T05:59:59.999Z'), 'week:2026-W49'); // Sunday 23:59:59 CST
    assert.equal(key('week', '2026-12-07T06:00:00.000Z'), 'week:2026-W50'); // Monday 00:00 CST
  });

  test('month end', () => {
    assert.equal(key('month', '2026-12-01T05:59:59.999Z'), 'month:2026-11');
    assert.equal(key('month', '2026-12-01T06:00:00.000Z'), 'month:2026-12');
    assert.equal(key('month', '2027-01-01T05:59:59.999Z'), 'month:2026-12');
    assert.equal(key('month', '2027-01-01T06:00:00.000Z'), 'month:2027-01');
  });

  test('ISO week-year at the turn of the year (2026 has 53 weeks)', () => {
    assert.equal(key('week', '2026-12-31T18:00:00Z'), 'week:2026-W53'); // Thursday
    assert.equal(key('week', '2027-01-01T18:00:00Z'), 'week:2026-W53'); // Friday: still 2026's last week
    assert.equal(key('week', '2027-01-04T06:00:00Z'), 'week:2027-W01'); // Monday 00:00 CST
    assert.deepEqual(isoWeek({ year: 2025, month: 12, day: 29 }), { weekYear: 2026, week: 1 });
    assert.deepEqual(isoWeek({ year: 2021, month: 1, day: 3 }), { weekYear: 2020, week: 53 });
  });

  test('total has one window forever', () => {
    assert.equal(key('total', '2026-12-01T00:00:00Z'), 'total');
    assert.equal(key('total', '2031-06-01T00:00:00Z'), 'total');
  });

  test('spring forward (New York 2026-03-08): 01:59 EST is followed by hour 03', () => {
    assert.equal(key('hour', '2026-03-08T06:59:59.999Z', NEW_YORK), 'hour:2026-03-08T01');
    assert.equal(key('hour', '2026-03-08T07:00:00.000Z', NEW_YORK), 'hour:2026-03-08T03');
    assert.equal(key('day', '2026-03-08T04:59:59.999Z', NEW_YORK), 'day:2026-03-07');
    assert.equal(key('day', '2026-03-08T05:00:00.000Z', NEW_YORK), 'day:2026-03-08'); // midnight EST
    assert.equal(key('day', '2026-03-09T03:59:59.999Z', NEW_YORK), 'day:2026-03-08'); // 23:59:59 EDT
    assert.equal(key('day', '2026-03-09T04:00:00.000Z', NEW_YORK), 'day:2026-03-09'); // midnight EDT: a 23-hour day
  });

  test('fall back (New York 2026-11-01): the repeated 01:00 hour is two windows', () => {
    assert.equal(key('hour', '2026-11-01T04:59:59.999Z', NEW_YORK), 'hour:2026-11-01T00');
    assert.equal(key('hour', '2026-11-01T05:30:00Z', NEW_YORK), 'hour:2026-11-01T01'); // 01:30 EDT
    assert.equal(key('hour', '2026-11-01T06:00:00Z', NEW_YORK), 'hour:2026-11-01T01-05:00'); // 01:00 EST, again
    assert.equal(key('hour', '2026-11-01T06:59:59.999Z', NEW_YORK), 'hour:2026-11-01T01-05:00');
    assert.equal(key('hour', '2026-11-01T07:00:00Z', NEW_YORK), 'hour:2026-11-01T02');
    assert.equal(key('day', '2026-11-02T04:59:59.999Z', NEW_YORK), 'day:2026-11-01'); // 23:59:59 EST: a 25-hour day
    assert.equal(key('day', '2026-11-02T05:00:00Z', NEW_YORK), 'day:2026-11-02');
  });
});

describe('capWindows', () => {
  test('longest first, with reservation ids and window ends', () => {
    const caps = capsSchema.parse({ hour: 10, day: 100, week: 400, month: 1500, total: 10_000 });
    const windows = capWindows(caps, new Date('2026-12-02T19:30:00Z'), CHICAGO); // Wed 13:30 CST
    assert.deepEqual(
      windows.map((w) => [w.period, w.key, w.limit, w.endsAt === null ? null : new Date(w.endsAt).toISOString()]),
      [
        ['total', 'total', 10_000, null],
        ['month', 'month:2026-12', 1500, '2027-01-01T06:00:00.000Z'],
        ['week', 'week:2026-W49', 400, '2026-12-07T06:00:00.000Z'],
        ['day', 'day:2026-12-02', 100, '2026-12-03T06:00:00.000Z'],
        ['hour', 'hour:2026-12-02T13', 10, '2026-12-02T20:00:00.000Z'],
      ],
    );
    assert.equal(reservationId('acme', windows[3]!.key), 'acme:day:2026-12-02');
  });

  test('window ends across DST: 23- and 25-hour days end at local midnight', () => {
    const caps = capsSchema.parse({ day: 5, month: 50 });
    const spring = capWindows(caps, new Date('2026-03-08T12:00:00Z'), NEW_YORK);
    assert.equal(new Date(spring[1]!.endsAt!).toISOString(), '2026-03-09T04:00:00.000Z');
    const fall = capWindows(caps, new Date('2026-11-01T12:00:00Z'), NEW_YORK);
    assert.equal(new Date(fall[1]!.endsAt!).toISOString(), '2026-11-02T05:00:00.000Z');
    assert.equal(new Date(fall[0]!.endsAt!).toISOString(), '2026-12-01T05:00:00.000Z');
  });

  test('no caps, no windows', () => {
    assert.deepEqual(capWindows(undefined, Date.now(), CHICAGO), []);
    assert.deepEqual(capWindows({}, Date.now(), CHICAGO), []);
  });
});

describe('checkCaps', () => {
  const caps = capsSchema.parse({ day: 100, month: 1000 });
  const at = new Date('2026-12-01T18:00:00Z');

  test('room left: ok, with the windows to reserve', () => {
    const r = checkCaps(caps, { 'day:2026-12-01': 99, 'month:2026-12': 500 }, at, CHICAGO);
    assert.ok(r.ok);
    assert.deepEqual(r.windows.map((w) => w.key), ['month:2026-12', 'day:2026-12-01']);
  });

  test('a full window refuses with a readable reason', () => {
    const r = checkCaps(caps, { 'day:2026-12-01': 100 }, at, CHICAGO);
    assert.deepEqual(r, { ok: false, reason: 'cap day 100/100', period: 'day', key: 'day:2026-12-01', count: 100, limit: 100 });
  });

  test('yesterday full does not block today (buyer midnight)', () => {
    const counts = { 'day:2026-11-30': 100 };
    assert.equal(checkCaps(caps, counts, new Date('2026-12-01T05:59:59Z'), CHICAGO).ok, false);
    assert.equal(checkCaps(caps, counts, new Date('2026-12-01T06:00:00Z'), CHICAGO).ok, true);
  });

  test('the longest full window is named (it is the longest wait)', () => {
    const r = checkCaps(caps, { 'day:2026-12-01': 100, 'month:2026-12': 1000 }, at, CHICAGO);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'cap month 1000/1000');
  });

  test('counts may be a lookup function', () => {
    const r = checkCaps(capsSchema.parse({ total: 3 }), (k) => (k === 'total' ? 3 : 0), at, CHICAGO);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'cap total 3/3');
  });

  test('schema: positive integers only, unknown periods refused', () => {
    const r = capsSchema.safeParse({ day: 0, hour: 1.5, year: 10 });
    assert.ok(!r.success);
    const paths = r.error.issues.map((i) => i.path.join('.') || i.message);
    assert.ok(paths.includes('day') && paths.includes('hour'), paths.join(', '));
    assert.ok(r.error.issues.some((i) => i.message.includes('year')));
  });
});
