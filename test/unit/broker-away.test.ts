/**
 * "No broker answered", read through KafkaJS's wrappers, and the start-up wait built on it: a
 * broker away at start is waited for (one warning), anything else fails at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { isBrokerAway, untilBrokerAnswers } from '../../src/kafka/broker-away.js';

// Constructed as KafkaJS constructs them; its types omit some of these arguments.
const { KafkaJSConnectionError, KafkaJSProtocolError } = kafkajs;
const KafkaJSGroupCoordinatorNotFound = kafkajs.KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error;
const KafkaJSNonRetriableError = kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
const KafkaJSNumberOfRetriesExceeded = kafkajs.KafkaJSNumberOfRetriesExceeded as unknown as new (e: Error, o: { retryCount: number; retryTime: number }) => Error;

test('a crash KafkaJS will not restart, "Failed to find group coordinator", counts as the broker being away', () => {
  // What KafkaJS's retrier throws once it bails: the real cause is only in the chain.
  const cause = new KafkaJSGroupCoordinatorNotFound('Failed to find group coordinator');
  assert.equal(isBrokerAway(new KafkaJSNonRetriableError(cause, { cause })), true);
  const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  assert.equal(isBrokerAway(new KafkaJSNumberOfRetriesExceeded(refused, { retryCount: 8, retryTime: 2000 })), true);
  assert.equal(isBrokerAway(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
});

test('bugs, protocol refusals and plain errors are not the broker being away', () => {
  assert.equal(isBrokerAway(new TypeError('cannot read properties of undefined')), false);
  assert.equal(isBrokerAway(new KafkaJSProtocolError(Object.assign(new Error('Topic authorization failed'), { type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false }))), false);
  assert.equal(isBrokerAway(new Error('Connection error: connect ECONNREFUSED')), false, 'only KafkaJS names and socket codes, not messages');
  assert.equal(isBrokerAway(null), false);
  const loop: { name: string; cause?: unknown } = { name: 'Error' };
  loop.cause = loop;
  assert.equal(isBrokerAway(loop), false);
});

test('start-up waits for a broker that is away, saying so once, and goes on when it answers', async () => {
  let calls = 0;
  const told: unknown[] = [];
  const slept: number[] = [];
  const result = await untilBrokerAnswers(
    async () => {
      if (++calls < 4) throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED');
      return 'connected';
    },
    { waitMs: 60_000, onWait: (err) => told.push(err), sleep: async (ms) => void slept.push(ms) },
  );
  assert.equal(result, 'connected');
  assert.equal(calls, 4);
  assert.equal(told.length, 1);
  assert.deepEqual(slept, [200, 400, 800]);
});

test('anything else fails at once, and an outage longer than the wait fails with its own error', async () => {
  let calls = 0;
  await assert.rejects(
    untilBrokerAnswers(
      async () => {
        calls++;
        throw new TypeError('a bug');
      },
      { waitMs: 60_000, onWait: () => assert.fail('not a broker outage') },
    ),
    /a bug/,
  );
  assert.equal(calls, 1);
  await assert.rejects(
    untilBrokerAnswers(
      async () => {
        throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
      },
      { waitMs: 0, onWait: () => undefined },
    ),
    /ECONNREFUSED 127\.0\.0\.1:1/,
  );
});
