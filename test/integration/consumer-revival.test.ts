/**
 * The in-process restart (src/kafka/consumer-revival.ts) on real KafkaJS and a real broker: after
 * a crash KafkaJS has disconnected the consumer (its onCrash calls disconnect() before it decides
 * whether to restart); connecting and running the same consumer again must rejoin the group and
 * go on consuming, with the subscription and handlers it had. The revival's wiring to the stage's
 * crash handler is unit-tested (test/unit/kafkajs-stage-rebalance.test.ts); this checks the
 * KafkaJS behaviour it relies on, which a KafkaJS upgrade could change.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import kafkajs from '../../src/kafka/kafkajs.js';
import { createRevival } from '../../src/kafka/consumer-revival.js';
import { BROKERS, waitUntil } from './harness.js';

const { Kafka, logLevel } = kafkajs;

test('a disconnected (crashed) consumer connected and run again rejoins its group and consumes on', async () => {
  const topic = `it-revival-${Date.now().toString(36)}.in`;
  const kafka = new Kafka({ clientId: 'revival-test', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `${topic}.group`, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await admin.connect();
  await producer.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const seen: string[] = [];
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => void joins++);
    const runOptions = { eachMessage: async ({ message }: { message: { value: Buffer | null } }) => void seen.push(String(message.value)) };
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run(runOptions);
    await producer.send({ topic, messages: [{ value: 'before' }] });
    await waitUntil('first message consumed', () => seen.includes('before'));

    // What KafkaJS does on a crash it will not restart: the consumer is disconnected.
    await consumer.disconnect();
    const joinsBefore = joins;
    const revival = createRevival({ consumer, runOptions: () => runOptions, log: pino({ level: 'silent' }), groupId: `${topic}.group`, isStopping: () => false });
    revival.soon();
    await producer.send({ topic, messages: [{ value: 'after' }] });
    await waitUntil('consumed after the restart in this process', () => seen.includes('after'));
    assert.ok(joins > joinsBefore, 'rejoined its group');
    assert.deepEqual(seen.filter((v) => v === 'after'), ['after']);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
});
