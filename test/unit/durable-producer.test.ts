/** The process producer's lanes over a fake KafkaJS client: sends side by side, coalescing, failures to their own callers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Kafka } from 'kafkajs';
import { createDurableProducer } from '../../src/kafka/durable-producer.js';
import { fixedLimits } from '../../src/kafka/produce-limits.js';

function fakeKafka(opts: { fail?: (topics: string[]) => Error | null } = {}) {
  const requests: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const releases: (() => void)[] = [];
  const kafka = {
    producer: () => ({
      connect: async () => {},
      disconnect: async () => {},
      sendBatch: async ({ topicMessages }: { topicMessages: { topic: string; messages: unknown[] }[] }) => {
        const topics = topicMessages.flatMap((t) => t.messages.map(() => t.topic));
        requests.push(topics);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => releases.push(r));
        inFlight--;
        const err = opts.fail?.(topics);
        if (err) throw err;
      },
    }),
  } as unknown as Kafka;
  return { kafka, requests, maxInFlight: () => maxInFlight, releaseAll: () => releases.splice(0).forEach((r) => r()) };
}

const rec = (topic: string) => ({ topic, key: 'k', value: Buffer.from('v') });
const tick = () => new Promise((r) => setImmediate(r));

test('sends go out side by side on free lanes; what waits meanwhile goes out together', async () => {
  const f = fakeKafka();
  const p = await createDurableProducer(f.kafka, fixedLimits(1_000_000, 1000), pino({ level: 'silent' }), 2);
  const sends = [p.send([rec('a')]), p.send([rec('b')]), p.send([rec('c')]), p.send([rec('d')])];
  await tick();
  assert.deepEqual(f.requests, [['a'], ['b']], 'two lanes, two requests in flight');
  f.releaseAll();
  await tick();
  await tick();
  assert.deepEqual(f.requests.slice(2), [['c', 'd']], 'the queued sends share the next free lane');
  f.releaseAll();
  await Promise.all(sends);
  assert.equal(f.maxInFlight(), 2);
});

test('a failed request fails only the sends it carried', async () => {
  const f = fakeKafka({ fail: (topics) => (topics.includes('bad') ? Object.assign(new Error('Connection error'), { retriable: true }) : null) });
  const p = await createDurableProducer(f.kafka, fixedLimits(1_000_000, 1000), pino({ level: 'silent' }), 2);
  const bad = p.send([rec('bad')]);
  const good = p.send([rec('good')]);
  await tick();
  f.releaseAll();
  await assert.rejects(bad, /Connection error/);
  await good;
});
