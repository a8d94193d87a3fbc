import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stalls } from '../../scripts/chaos/check.js';
import type { StoredEvent } from '../../src/history/store.js';

const delivered = (destination: string, at: number) => ({ type: 'delivered', destination, at: new Date(at) }) as unknown as StoredEvent;

test('stalls: the longest gap per destination, from the start of the load', () => {
  const events = [delivered('primary:buyer-us', 1000), delivered('primary:buyer-us', 2000), delivered('primary:buyer-us', 9000), delivered('sms:twilio', 3000)];
  const s = stalls(events, 0, 10_000);
  assert.deepEqual(s['primary:buyer-us'], { longestMs: 7000, at: 2000 });
  assert.deepEqual(s['sms:twilio'], { longestMs: 3000, at: 0 });
});

test('stalls: time inside a fault that stops the destination by design does not count; the recovery after it does', () => {
  // The buyer is down from 2 s to 6 s; the first delivery after it is at 9 s: 3 s of recovery.
  const events = [delivered('primary:buyer-us', 1000), delivered('primary:buyer-us', 2000), delivered('primary:buyer-us', 9000), delivered('sms:twilio', 1000), delivered('sms:twilio', 9500)];
  const s = stalls(events, 1000, 10_000, [{ start: 2000, end: 6000, affects: ['buyer-us'] }]);
  assert.deepEqual(s['primary:buyer-us'], { longestMs: 3000, at: 6000 });
  // Another destination is not excused by the buyer's fault.
  assert.deepEqual(s['sms:twilio'], { longestMs: 8500, at: 1000 });
  // 'all' excuses every destination; a gap split by a window keeps its longest uncovered part.
  const all = stalls(events, 1000, 10_000, [{ start: 3000, end: 8000, affects: ['all'] }]);
  assert.deepEqual(all['sms:twilio'], { longestMs: 2000, at: 1000 });
  assert.deepEqual(all['primary:buyer-us'], { longestMs: 1000, at: 1000 });
});
