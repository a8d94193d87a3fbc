import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkQuietHours, quietHoursConfigSchema, type QuietWindows } from '../../src/sinks/sms/quiet-hours.js';

type Market = 'US' | 'UK';

function check(now: string, zone: string | null, market: Market = 'US', windows?: QuietWindows) {
  return checkQuietHours({ now: new Date(now), zone, market, windows });
}

/** Asserts the send is deferred until exactly `release` (ISO, UTC). */
function deferred(now: string, zone: string | null, release: string, market: Market = 'US', windows?: QuietWindows): void {
  const d = check(now, zone, market, windows);
  assert.equal(d.allowed, false, `${now} in ${zone} should be quiet`);
  assert.ok(!d.allowed);
  assert.equal(d.releaseAt.toISOString(), new Date(release).toISOString(), `${now} in ${zone}: ${d.reason}`);
  assert.ok(d.reason.length > 0);
}

function allowed(now: string, zone: string | null, market: Market = 'US', windows?: QuietWindows): void {
  const d = check(now, zone, market, windows);
  assert.deepEqual(d, { allowed: true }, `${now} in ${zone} should be allowed`);
}

describe('quiet hours, default window 08:00–21:00', () => {
  test('New York, spring forward (2025-03-09, 02:00 EST → 03:00 EDT)', () => {
    // Saturday 22:00 EST: opens Sunday 08:00 EDT = 12:00Z, not 13:00Z as Saturday's offset would say.
    deferred('2025-03-09T03:00:00Z', 'America/New_York', '2025-03-09T12:00:00Z');
    deferred('2025-03-09T06:30:00Z', 'America/New_York', '2025-03-09T12:00:00Z'); // 01:30 EST
    deferred('2025-03-09T07:30:00Z', 'America/New_York', '2025-03-09T12:00:00Z'); // 03:30 EDT
    deferred('2025-03-09T11:59:00Z', 'America/New_York', '2025-03-09T12:00:00Z');
    allowed('2025-03-09T12:00:00Z', 'America/New_York');
    allowed('2025-03-10T00:59:00Z', 'America/New_York'); // 20:59 EDT
    deferred('2025-03-10T01:00:00Z', 'America/New_York', '2025-03-10T12:00:00Z'); // 21:00 EDT: the end is exclusive
  });

  test('New York, fall back (2025-11-02, 02:00 EDT → 01:00 EST)', () => {
    deferred('2025-11-02T02:00:00Z', 'America/New_York', '2025-11-02T13:00:00Z'); // Sat 22:00 EDT → Sun 08:00 EST
    deferred('2025-11-02T05:30:00Z', 'America/New_York', '2025-11-02T13:00:00Z'); // first 01:30 (EDT)
    deferred('2025-11-02T06:30:00Z', 'America/New_York', '2025-11-02T13:00:00Z'); // second 01:30 (EST)
    // 07:59 EST; with the day-before offset it would look like 08:59 and be wrongly allowed.
    deferred('2025-11-02T12:59:00Z', 'America/New_York', '2025-11-02T13:00:00Z');
    allowed('2025-11-02T13:00:00Z', 'America/New_York');
    allowed('2025-11-03T01:59:00Z', 'America/New_York'); // 20:59 EST
    deferred('2025-11-03T02:00:00Z', 'America/New_York', '2025-11-03T13:00:00Z');
  });

  test('Phoenix does not observe DST: 08:00 MST is 15:00Z all year', () => {
    deferred('2025-03-09T14:59:00Z', 'America/Phoenix', '2025-03-09T15:00:00Z');
    deferred('2025-07-01T14:59:00Z', 'America/Phoenix', '2025-07-01T15:00:00Z');
    allowed('2025-07-02T03:59:00Z', 'America/Phoenix'); // 20:59
    deferred('2025-07-02T04:00:00Z', 'America/Phoenix', '2025-07-02T15:00:00Z');
  });

  test('Honolulu (UTC-10, no DST)', () => {
    deferred('2025-07-01T17:59:00Z', 'Pacific/Honolulu', '2025-07-01T18:00:00Z');
    allowed('2025-07-02T06:59:00Z', 'Pacific/Honolulu');
    deferred('2025-07-02T07:00:00Z', 'Pacific/Honolulu', '2025-07-02T18:00:00Z');
  });

  test('London across BST start (2025-03-30) and end (2025-10-26)', () => {
    deferred('2025-03-29T21:30:00Z', 'Europe/London', '2025-03-30T07:00:00Z', 'UK'); // 21:30 GMT → 08:00 BST
    allowed('2025-03-30T07:00:00Z', 'Europe/London', 'UK');
    deferred('2025-10-25T20:30:00Z', 'Europe/London', '2025-10-26T08:00:00Z', 'UK'); // 21:30 BST → 08:00 GMT
    deferred('2025-10-26T07:30:00Z', 'Europe/London', '2025-10-26T08:00:00Z', 'UK'); // 07:30 GMT, not 08:30
    allowed('2025-10-26T20:59:00Z', 'Europe/London', 'UK');
  });

  test('unknown US zone: allowed only while the window holds in every US zone', () => {
    // Summer: opens at 08:00 in Honolulu (18:00Z), closes at 21:00 in New York (01:00Z).
    deferred('2025-07-01T14:00:00Z', null, '2025-07-01T18:00:00Z'); // 10:00 in New York, 04:00 in Honolulu
    deferred('2025-07-01T17:59:00Z', null, '2025-07-01T18:00:00Z');
    allowed('2025-07-01T18:00:00Z', null);
    allowed('2025-07-02T00:59:00Z', null);
    deferred('2025-07-02T01:00:00Z', null, '2025-07-02T18:00:00Z');
    // Winter: New York closes at 21:00 EST = 02:00Z.
    allowed('2025-01-15T01:59:00Z', null);
    deferred('2025-01-15T02:00:00Z', null, '2025-01-15T18:00:00Z');
  });

  test('a zone name the runtime does not know is treated as unknown', () => {
    deferred('2025-07-01T14:00:00Z', 'Mars/Olympus_Mons', '2025-07-01T18:00:00Z');
    const d = check('2025-07-01T14:00:00Z', 'Mars/Olympus_Mons');
    assert.ok(!d.allowed && /unknown/.test(d.reason));
  });

  test('unknown UK zone uses Europe/London', () => {
    deferred('2025-10-26T07:30:00Z', null, '2025-10-26T08:00:00Z', 'UK');
    allowed('2025-10-26T12:00:00Z', null, 'UK');
  });
});

describe('quiet hours, configured windows', () => {
  const w = (US: { start: string; end: string }, UK = { start: '08:00', end: '21:00' }): QuietWindows => ({ US, UK });

  test('per market: a UK window of 09:00–20:00 does not change US leads', () => {
    const windows = { US: { start: '08:00', end: '21:00' }, UK: { start: '09:00', end: '20:00' } };
    deferred('2025-06-02T07:30:00Z', 'Europe/London', '2025-06-02T08:00:00Z', 'UK', windows); // 08:30 BST → 09:00 BST
    allowed('2025-06-02T12:30:00Z', 'America/New_York', 'US', windows); // 08:30 EDT
  });

  test('a window that starts inside the spring-forward gap opens when the clocks jump', () => {
    // 02:30 does not exist in New York on 2025-03-09; the clock jumps 01:59:59 EST → 03:00 EDT (07:00Z).
    deferred('2025-03-09T06:00:00Z', 'America/New_York', '2025-03-09T07:00:00Z', 'US', w({ start: '02:30', end: '05:00' }));
  });

  test('fall back can re-open a window without passing its start', () => {
    // Window 00:00–01:30. At 01:45 EDT it is closed; at 06:00Z the clock goes back to 01:00 EST: open again.
    deferred('2025-11-02T05:45:00Z', 'America/New_York', '2025-11-02T06:00:00Z', 'US', w({ start: '00:00', end: '01:30' }));
  });

  test('a window past midnight (end before start) wraps', () => {
    const night = w({ start: '22:00', end: '06:00' });
    allowed('2025-07-01T04:00:00Z', 'America/New_York', 'US', night); // 00:00 EDT
    deferred('2025-07-01T16:00:00Z', 'America/New_York', '2025-07-02T02:00:00Z', 'US', night); // 12:00 → 22:00 EDT
  });

  test('config schema: defaults, format checks, and windows that never overlap across US zones', () => {
    assert.deepEqual(quietHoursConfigSchema.parse({}), { US: { start: '08:00', end: '21:00' }, UK: { start: '08:00', end: '21:00' } });
    assert.equal(quietHoursConfigSchema.safeParse({ US: { start: '8:00', end: '21:00' } }).success, false);
    assert.equal(quietHoursConfigSchema.safeParse({ US: { start: '08:00', end: '08:00' } }).success, false);
    assert.equal(quietHoursConfigSchema.safeParse({ UK: { start: '08:00', end: '24:00' } }).success, true);
    // One hour is open in New York (12–13Z) long before it is in Honolulu (18–19Z): no common instant.
    const narrow = quietHoursConfigSchema.safeParse({ US: { start: '08:00', end: '09:00' } });
    assert.equal(narrow.success, false);
    assert.throws(() => check('2025-07-01T12:00:00Z', null, 'US', w({ start: '08:00', end: '09:00' })), /no instant/);
  });
});
