/**
 * Following a table topic (the opt-out list) right after another process created it: the
 * partitions may have no leader yet, and reading where they end answers "not the leader" for a
 * moment. That is waited out; a start-up does not fail on it (CI: a route process exited 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kafka } from 'kafkajs';
import { followTable } from '../../src/kafka/table.js';

test('reading where the table ends waits out "not the leader" answers, then follows the topic', async () => {
  let asked = 0;
  let disconnected = 0;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => void disconnected++,
    fetchTopicOffsets: async () => {
      if (++asked <= 2) throw Object.assign(new Error('This server is not the leader for that topic-partition'), { name: 'KafkaJSProtocolError', type: 'NOT_LEADER_FOR_PARTITION', retriable: true });
      return [{ partition: 0, offset: '0', high: '0', low: '0' }];
    },
  };
  const consumer = { connect: async () => undefined, subscribe: async () => undefined, run: async () => undefined, disconnect: async () => undefined };
  const kafka = { admin: () => admin, consumer: () => consumer } as unknown as Kafka;
  const table = await followTable({ kafka, topic: 'optouts', apply: async () => undefined });
  await table.ready; // empty topic: ready at once
  assert.equal(asked, 3);
  assert.equal(disconnected, 1);
  await table.close();
});

test('an answer that is not retriable still fails the start with its message', async () => {
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicOffsets: async () => {
      throw Object.assign(new Error('Not authorized to access topics'), { name: 'KafkaJSProtocolError', retriable: false });
    },
  };
  const kafka = { admin: () => admin, consumer: () => ({}) } as unknown as Kafka;
  await assert.rejects(followTable({ kafka, topic: 'optouts', apply: async () => undefined }), /Not authorized/);
});
