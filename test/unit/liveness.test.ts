/** The stage watchdog's rules over a fake clock: when a consumer counts as stuck, and when not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLiveness, isCoordinatorUnreachable, isWrongCoordinator } from '../../src/kafka/liveness.js';

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

/** KafkaJS's error for a commit or heartbeat sent to a broker that is no longer the group's coordinator. */
const notCoordinator = () => Object.assign(new Error('This is not the correct coordinator for this group'), { type: 'NOT_COORDINATOR_FOR_GROUP' });

function withCoordinatorRule() {
  let t = 1_000_000;
  const crashes: string[] = [];
  const live = createLiveness({ now: () => t, stallAfterMs: 60_000, crashAfterMs: 120_000, wrongCoordinatorCrashMs: 10_000, onCrash: (r) => void crashes.push(r) });
  live.joined();
  return { live, crashes, advance: (ms: number) => void (t += ms) };
}

test('commits refused as "not the correct coordinator" for a session timeout: crashed, though fetches go on', async () => {
  const { live, crashes, advance } = withCoordinatorRule();
  for (let i = 0; i < 6; i++) {
    await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator())));
    live.alive(); // fetches still work: they go to partition leaders, not the coordinator
    live.check();
    if (i < 5) assert.deepEqual(crashes, [], `not yet after ${i * 2} s`);
    advance(2000);
  }
  live.check();
  assert.equal(crashes.length, 1);
  assert.match(crashes[0]!, /coordinator moved.*for 10 s/);
});

test('a good answer from the coordinator ends the streak; other errors neither start nor end it', async () => {
  const { live, crashes, advance } = withCoordinatorRule();
  await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator())));
  advance(8000);
  await live.viaCoordinator(Promise.resolve());
  advance(8000);
  await assert.rejects(live.viaCoordinator(Promise.reject(Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' }))));
  advance(8000);
  live.alive();
  live.check();
  assert.deepEqual(crashes, []);
  assert.equal(isWrongCoordinator(new Error('The group is rebalancing')), false);
  assert.equal(isWrongCoordinator({ cause: { type: 'NOT_COORDINATOR_FOR_GROUP' } }), true);
});

test('rejoining the group (a fresh coordinator lookup) ends the streak', async () => {
  const { live, crashes, advance } = withCoordinatorRule();
  await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator())));
  advance(9000);
  live.left();
  live.joined();
  advance(9000);
  live.alive();
  live.check();
  assert.deepEqual(crashes, []);
});

test('a rejoin under way ends the streak; while out of the group only the out-of-group rule applies', async () => {
  const { live, crashes, advance } = withCoordinatorRule();
  // A broker back from a restart, still loading its groups: the stage's commit is refused, it
  // leaves to rejoin, and the join itself is refused for longer than a session timeout.
  await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator())));
  advance(2000);
  live.left();
  for (let i = 0; i < 6; i++) {
    await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator()))); // the last commit of the old generation
    advance(2000);
    live.check();
  }
  assert.deepEqual(crashes, [], 'the join is what finds the coordinator: not restarted 0.3 s before it goes through');
  live.joined();
  advance(9000);
  live.check();
  assert.deepEqual(crashes, []);
  // A join that never goes through is still a crash, by the out-of-group rule.
  live.left();
  advance(120_000);
  live.alive(); // join attempts are answered
  live.check();
  assert.equal(crashes.length, 1);
  assert.match(crashes[0]!, /not back in its consumer group/);
});

test('a consumer crash KafkaJS restarts ends the streak too: its restart joins afresh', async () => {
  const { live, crashes, advance } = withCoordinatorRule();
  await assert.rejects(live.viaCoordinator(Promise.reject(notCoordinator())));
  advance(9000);
  live.crashed('Connection error', false);
  advance(9000);
  live.check();
  assert.deepEqual(crashes, []);
});

test('a coordinator that cannot be reached (its broker gone) is told apart from other failures', () => {
  const named = (name: string, message = name) => Object.assign(new Error(message), { name });
  assert.equal(isCoordinatorUnreachable(named('KafkaJSBrokerNotFound', 'Broker 2 not found in the cached metadata')), true);
  assert.equal(isCoordinatorUnreachable(named('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED')), true);
  assert.equal(isCoordinatorUnreachable(named('KafkaJSNumberOfRetriesExceeded', 'retries')), false);
  assert.equal(isCoordinatorUnreachable(Object.assign(named('KafkaJSNumberOfRetriesExceeded'), { cause: named('KafkaJSConnectionClosedError') })), true);
  assert.equal(isCoordinatorUnreachable(Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' })), false);
  assert.equal(isCoordinatorUnreachable(null), false);
});
