/**
 * A topic read whole by every process, as a table (the opt-out list on its compacted topic):
 * read to the end it had at start-up before `ready` resolves, then followed live. No offsets
 * are committed; each process always reads everything. `apply` may throw to have the same
 * record read again later (KafkaJS retries it with backoff, then restarts the consumer).
 */
import type { Kafka } from 'kafkajs';
import { retryBriefly } from './backoff.js';

export interface TableFollower {
  /** Resolves once every partition was read up to where it ended at start-up. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export async function followTable(opts: {
  kafka: Kafka;
  topic: string;
  apply(key: string | null, value: Buffer | null, where: { partition: number; offset: string }): Promise<void>;
  /** Called after every record (waiters). */
  afterEach?(): void;
}): Promise<TableFollower> {
  const admin = opts.kafka.admin();
  await admin.connect();
  // A topic another process created a moment ago may have no leaders yet ("not the leader"):
  // waited out, not a failed start (a role that starts quickly reached this first in CI).
  const ends = await retryBriefly(() => admin.fetchTopicOffsets(opts.topic))
    .then((offsets) => new Map(offsets.map((p) => [p.partition, BigInt(p.high)])))
    .finally(() => admin.disconnect());
  const reached = new Map<number, bigint>();
  let caughtUp!: () => void;
  const ready = new Promise<void>((r) => (caughtUp = r));
  const check = () => {
    for (const [p, end] of ends) if ((reached.get(p) ?? 0n) < end) return;
    caughtUp();
  };
  check();
  // Each process uses a group of its own: nothing is committed, and nobody shares the table.
  const consumer = opts.kafka.consumer({
    groupId: `${opts.topic}.table-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    maxWaitTimeInMs: 200,
    // Outlive a broker outage: restart rather than stop for good (the table must keep following).
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => true },
  });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      await opts.apply(message.key ? message.key.toString() : null, message.value, { partition, offset: message.offset });
      reached.set(partition, BigInt(message.offset) + 1n);
      check();
      opts.afterEach?.();
    },
  });
  return { ready, close: () => consumer.disconnect() };
}
