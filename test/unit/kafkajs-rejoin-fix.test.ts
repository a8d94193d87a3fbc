/**
 * KafkaJS's own join, with the fix src/kafka/kafkajs.ts puts in: a coordinator that answers
 * JoinGroup "loading" (it just moved) or "not available" is asked again; before, the join gave up
 * and the consumer went back to fetching without being in its group (chaos: 71 s out of the group
 * for every consumer whose coordinator moved at a leader election).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { rejoinFixApplied } from '../../src/kafka/kafkajs.js';

const require = createRequire(import.meta.url);
type ConsumerGroupClass = new (opts: Record<string, unknown>) => { joinAndSync(): Promise<void> };
const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as ConsumerGroupClass;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as { createErrorFromCode(code: number): Error };

const quiet = { namespace: () => quiet, info() {}, warn() {}, error() {}, debug() {} };

/** A group whose coordinator answers JoinGroup with `first`, then refuses for good (so the test ends). */
async function joinAttempts(first: number): Promise<{ joins: number; error: Error }> {
  let joins = 0;
  const coordinator = {
    joinGroup: async () => {
      joins++;
      if (joins === 1) throw createErrorFromCode(first);
      throw Object.assign(new Error('the test ends here'), { retriable: false });
    },
  };
  const group = new ConsumerGroup({
    retry: { initialRetryTime: 1, maxRetryTime: 5, retries: 3 },
    cluster: { findGroupCoordinator: async () => coordinator },
    groupId: 'g',
    topics: ['t'],
    topicConfigurations: {},
    logger: quiet,
    instrumentationEmitter: { emit() {} },
    assigners: [{ name: 'RoundRobinAssigner', protocol: () => ({ name: 'RoundRobinAssigner', metadata: Buffer.alloc(0) }) }],
    sessionTimeout: 10_000,
    rebalanceTimeout: 60_000,
  });
  const error = await group.joinAndSync().then(
    () => assert.fail('joined'),
    (err: Error) => err,
  );
  return { joins, error };
}

test('loaded before any other KafkaJS module in this process', () => {
  assert.equal(rejoinFixApplied, true);
});

test('a coordinator still loading the group (GROUP_LOAD_IN_PROGRESS) is asked again', async () => {
  const { joins, error } = await joinAttempts(14);
  assert.equal(joins, 2);
  assert.match(error.message, /the test ends here/);
});

test('a coordinator not available (GROUP_COORDINATOR_NOT_AVAILABLE) is looked up and asked again', async () => {
  const { joins } = await joinAttempts(15);
  assert.equal(joins, 2);
});

test('an answer that is not about the coordinator still ends the join (UNKNOWN_TOPIC_OR_PARTITION)', async () => {
  const { joins } = await joinAttempts(3);
  assert.equal(joins, 1);
});
