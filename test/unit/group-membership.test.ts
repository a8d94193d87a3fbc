/**
 * The group state a stage keeps between KafkaJS's events and its eachBatch calls: which signal
 * makes the runner rejoin, and what a join or a crash clears.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createGroupMembership } from '../../src/kafka/group-membership.js';

const log = pino({ level: 'silent' });
const rebalancing = Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });

test('nothing heard: no rejoin; a lost coordinator rejoins once, as NOT_COORDINATOR_FOR_GROUP', () => {
  const g = createGroupMembership({ log, groupId: 'g', isStopping: () => false });
  assert.doesNotThrow(() => g.rejoinIfDue());
  g.coordinatorLost('Broker 2 not found');
  assert.throws(() => g.rejoinIfDue(), (err: { type?: string; retriable?: boolean }) => err.type === 'NOT_COORDINATOR_FOR_GROUP' && err.retriable === true);
  assert.doesNotThrow(() => g.rejoinIfDue(), 'asked once: the join that follows looks the coordinator up');
});

test('a heard rebalance is thrown to every batch until the consumer joins again', () => {
  const g = createGroupMembership({ log, groupId: 'g', isStopping: () => false });
  assert.equal(g.heard(new Error('timeout')), false, 'not a rebalance');
  assert.equal(g.heard(rebalancing), true);
  assert.throws(() => g.rejoinIfDue(), (err) => err === rebalancing);
  assert.throws(() => g.rejoinIfDue(), (err) => err === rebalancing);
  g.joined('member-2');
  assert.doesNotThrow(() => g.rejoinIfDue());
});

test('while stopping nothing is thrown: the batch in hand finishes and commits', () => {
  let stopping = false;
  const g = createGroupMembership({ log, groupId: 'g', isStopping: () => stopping });
  g.heard(rebalancing);
  g.coordinatorLost('gone');
  stopping = true;
  assert.doesNotThrow(() => g.rejoinIfDue());
});

test('a crash hands back the crashed member once, and its batches are stale until the next join', () => {
  const g = createGroupMembership({ log, groupId: 'g', isStopping: () => false });
  assert.equal(g.crashed(), null, 'never joined: nothing to remove');
  g.joined('member-1');
  assert.equal(g.crashedSinceJoin, false);
  const crashesBefore = g.crashes;
  g.heard(rebalancing);
  assert.equal(g.crashed(), 'member-1');
  assert.equal(g.crashes, crashesBefore + 1);
  assert.equal(g.crashedSinceJoin, true);
  assert.doesNotThrow(() => g.rejoinIfDue(), 'the restart joins afresh: the old rebalance is not thrown at it');
  assert.equal(g.crashed(), null, 'already handed back');
  const joinsBefore = g.joins;
  g.joined('member-2');
  assert.equal(g.joins, joinsBefore + 1);
  assert.equal(g.crashedSinceJoin, false);
});
