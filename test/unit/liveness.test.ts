/** The stage watchdog's rules over a fake clock: when a consumer counts as stuck, and when not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLiveness } from '../../src/kafka/liveness.js';

function clocked() {
  let t = 1_000_000;
  const crashes: string[] = [];
  const live = createLiveness({ now: () => t, stallAfterMs: 60_000, crashAfterMs: 120_000, onCrash: (r) => void crashes.push(r) });
  return { live, crashes, advance: (ms: number) => void (t += ms) };
}

test('a consumer in its group that fetches or heartbeats is never crashed', () => {
  const { live, crashes, advance } = clocked();
  live.joined();
  for (let i = 0; i < 100; i++) {
    advance(10_000);
    live.alive();
    live.check();
  }
  assert.deepEqual(crashes, []);
  assert.equal(live.ready, true);
});

test('no fetch and no heartbeat: reported as stalled, then crashed once', () => {
  const { live, crashes, advance } = clocked();
  live.joined();
  advance(61_000);
  live.check();
  assert.deepEqual(crashes, []);
  assert.match(live.problems().join(), /stalled: no fetch or heartbeat for 61 s/);
  advance(60_000);
  live.check();
  live.check();
  assert.equal(crashes.length, 1);
  assert.match(crashes[0]!, /no fetch or heartbeat for 121 s/);
  assert.equal(live.ready, false);
});

test('paused on purpose (holding its limit) is quiet, not stuck', () => {
  const { live, crashes, advance } = clocked();
  live.joined();
  live.setPaused(true);
  advance(600_000);
  live.check();
  assert.deepEqual(crashes, []);
  assert.deepEqual(live.problems(), []);
});

test('out of the group too long is a crash even while heartbeats are attempted', () => {
  const { live, crashes, advance } = clocked();
  live.joined();
  live.left();
  for (let i = 0; i < 13; i++) {
    advance(10_000);
    live.alive();
    live.check();
  }
  assert.equal(crashes.length, 1);
  assert.match(crashes[0]!, /not back in its consumer group for 120 s/);
});

test('a crash KafkaJS restarts is not ours to act on; a final one is, unless stopping', () => {
  const { live, crashes } = clocked();
  live.crashed('broker gone', false);
  assert.deepEqual(crashes, []);
  live.crashed('broker gone for good', true);
  assert.deepEqual(crashes, ['broker gone for good']);
  const other = clocked();
  other.live.stopping();
  other.live.crashed('while stopping', true);
  assert.deepEqual(other.crashes, []);
});

test('a wait on a transient failure shows after 5 s and clears when work progresses', () => {
  const { live, advance } = clocked();
  live.joined();
  live.waiting('SMS store: no answer');
  advance(6000);
  live.alive();
  assert.match(live.problems().join(), /waiting since .* on: SMS store: no answer/);
  live.progressed();
  assert.deepEqual(live.problems(), []);
});
