/**
 * The global opt-out list, materialized in memory from the compacted topic leads.optouts
 * (key: E.164 phone, latest record wins). Every route and SMS-sink process holds its own copy:
 * it reads the topic to its end before it starts (so it never texts with a partial list), then
 * follows it live. No consumer-group commits: every instance always reads the whole topic.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Codec } from '../../kafka/codec.js';

export interface OptOutRecord {
  phone: string;
  optedOut: boolean;
  at: number;
  source: string;
  text: string | null;
}

export interface OptOutList {
  isOptedOut(phone: string): boolean;
  size(): number;
  /** Resolves once a record at least as new as `at` for `phone` has been applied (tests, webhooks). */
  waitFor(phone: string, optedOut: boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function followOptOuts(opts: { kafka: Kafka; topic: string; codec: Codec<OptOutRecord>; log: Logger; groupPrefix: string }): Promise<OptOutList> {
  const state = new Map<string, boolean>();
  const waiters = new Set<() => void>();
  const admin = opts.kafka.admin();
  await admin.connect();
  // Where "the end" is at start-up: the list is complete once every partition reached it.
  const ends = new Map((await admin.fetchTopicOffsets(opts.topic)).map((p) => [p.partition, BigInt(p.high)]));
  await admin.disconnect();
  const reached = new Map<number, bigint>();
  let caughtUp!: () => void;
  const ready = new Promise<void>((r) => (caughtUp = r));
  const checkCaughtUp = () => {
    for (const [p, end] of ends) if ((reached.get(p) ?? 0n) < end) return;
    caughtUp();
  };
  checkCaughtUp();

  const consumer = opts.kafka.consumer({ groupId: `${opts.groupPrefix}optouts-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const phone = message.key?.toString();
      if (phone) {
        if (message.value === null) state.delete(phone); // tombstone: forgotten entirely
        else {
          try {
            const r = await opts.codec.decode(message.value);
            state.set(r.phone, r.optedOut);
          } catch (err) {
            // An unreadable opt-out must not stop the list; it is logged for a human.
            opts.log.error({ err: (err as Error).message, partition, offset: message.offset }, 'unreadable opt-out record');
          }
        }
      }
      reached.set(partition, BigInt(message.offset) + 1n);
      checkCaughtUp();
      for (const w of waiters) w();
    },
  });
  await ready;
  opts.log.info({ optedOut: [...state.values()].filter(Boolean).length }, 'opt-out list loaded');

  return {
    isOptedOut: (phone) => state.get(phone) === true,
    size: () => state.size,
    waitFor(phone, optedOut, timeoutMs) {
      return new Promise((resolve) => {
        const check = () => {
          if ((state.get(phone) === true) === optedOut) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(true);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(false);
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () => consumer.disconnect(),
  };
}

/** Writes an opt-out (or opt back in) durably: acks=all, keyed by phone for compaction. */
export async function publishOptOut(producer: Producer, codec: Codec<OptOutRecord>, topic: string, record: OptOutRecord): Promise<void> {
  await producer.send({ topic, acks: -1, messages: [{ key: record.phone, value: codec.encode(topic, record) }] });
}
