/**
 * A consumer that KafkaJS restarts after a crash joins as a new member; its old member is removed
 * from the group (src/kafka/predecessor.ts) so the rebalance does not wait out its session timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import pino from 'pino';
import { removePredecessors, retireCrashedMember } from '../../src/kafka/predecessor.js';

const log = pino({ level: 'silent' });
const noSleep = async () => undefined;
const loading = () => Object.assign(new Error("The coordinator is loading and hence can't process requests for this group"), { retriable: true, type: 'COORDINATOR_LOAD_IN_PROGRESS' });

/** A KafkaJS client whose cluster reaches a fake coordinator (the symbol-keyed factory kafkajs 2.x has). */
function fakeKafka(answers: (() => void)[]) {
  const left: { groupId: string; memberId: string }[] = [];
  const coordinator = {
    async leaveGroup(req: { groupId: string; memberId: string }) {
      left.push(req);
      const answer = answers.shift();
      answer?.();
    },
  };
  const cluster = { async connect() {}, async disconnect() {}, async findGroupCoordinator() { return coordinator; } };
  const kafka = { [Symbol('private:Kafka:createCluster')]: () => cluster } as unknown as Kafka;
  return { kafka, left };
}

test('the crashed member is removed once the coordinator answers, after its "loading" answers', async () => {
  const f = fakeKafka([() => { throw loading(); }, () => { throw loading(); }, () => undefined]);
  const removed = await retireCrashedMember(f.kafka, 'g', 'member-1', { abandon: () => false, log, sleep: noSleep });
  assert.equal(removed, true);
  assert.equal(f.left.length, 3);
  assert.ok(f.left.every((l) => l.groupId === 'g' && l.memberId === 'member-1'), 'only that member, in that group');
});

test('a member the coordinator no longer knows counts as removed', async () => {
  const f = fakeKafka([() => { throw Object.assign(new Error('unknown member'), { type: 'UNKNOWN_MEMBER_ID' }); }]);
  assert.equal(await retireCrashedMember(f.kafka, 'g', 'member-1', { abandon: () => false, log, sleep: noSleep }), true);
  assert.equal(f.left.length, 1);
});

test('it stops trying once the consumer is back in its group (the rebalance is over, the old member with it)', async () => {
  let joinedAgain = false;
  const f = fakeKafka([() => { throw loading(); }, () => { joinedAgain = true; throw loading(); }, () => undefined]);
  const removed = await retireCrashedMember(f.kafka, 'g', 'member-1', { abandon: () => joinedAgain, log, sleep: noSleep });
  assert.equal(removed, false);
  assert.equal(f.left.length, 2, 'no attempt after the consumer joined again');
});

test('without access to the coordinator (another KafkaJS version) it gives up at once', async () => {
  const removed = await retireCrashedMember({} as Kafka, 'g', 'member-1', { abandon: () => false, log, sleep: noSleep });
  assert.equal(removed, false);
});

test('a restarted instance removes its predecessor from every group of its role in one pass, and nobody else', async () => {
  const f = fakeKafka([]);
  const described: string[][] = [];
  const groups = [
    { groupId: 'sms.twilio', members: [{ memberId: 'old-1', clientId: 'lead-router-sink-sms@sms-1' }, { memberId: 'other', clientId: 'lead-router-sink-sms@sms-2' }] },
    { groupId: 'sms.eurosms', members: [{ memberId: 'other-2', clientId: 'lead-router-sink-sms@sms-2' }] },
    { groupId: 'sms.deferred', members: [{ memberId: 'old-2', clientId: 'lead-router-sink-sms@sms-1' }] },
  ];
  const admin = { async connect() {}, async disconnect() {}, async describeGroups(ids: string[]) { described.push(ids); return { groups }; } };
  Object.assign(f.kafka, { admin: () => admin });
  const removed = await removePredecessors(f.kafka, groups.map((g) => g.groupId), 'lead-router-sink-sms@sms-1', log);
  assert.deepEqual(described, [['sms.twilio', 'sms.eurosms', 'sms.deferred']], 'one describe for every group');
  assert.deepEqual(removed.sort(), ['old-1', 'old-2']);
  assert.deepEqual(f.left.sort((a, b) => a.memberId.localeCompare(b.memberId)), [{ groupId: 'sms.twilio', memberId: 'old-1' }, { groupId: 'sms.deferred', memberId: 'old-2' }]);
});
