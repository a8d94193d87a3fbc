/**
 * Reading a topic outside the stages (operators, the history rebuild, chaos): from a point in time (or the beginning) up
 * to a point in time or the end it has now, then stop (`readRange`: replays), or on and on
 * (`followTopic`: the dashboard's view of leads.events and leads.dlq). Each reader uses a group
 * of its own and commits nothing, so it never takes a partition from a stage.
 */
import type { Kafka } from 'kafkajs';
import type { RawRecord } from './stage-contract.js';
import { offsetsAtTime, topicEnds } from './ops-admin.js';
import { retryBriefly } from './backoff.js';

export interface TimedRecord extends RawRecord {
  /** The record's Kafka timestamp (producer create time), epoch ms. */
  timestamp: number;
}

export interface ReadRangeOptions {
  kafka: Kafka;
  topic: string;
  /** Epoch ms; from the beginning when absent. */
  since?: number;
  /** Epoch ms; to the end the topic has now when absent. */
  until?: number;
  onBatch(records: TimedRecord[]): Promise<void>;
  /** Now and then: records read so far, and how many the range holds at most. */
  onProgress?(read: number, total: number): void;
}

interface Bounds {
  start: Map<number, bigint>;
  stop: Map<number, bigint>;
}

/**
 * Where to start and stop, per partition. Right after a broker comes back its partitions' leaders
 * move, and offset requests answer "This server is not the leader" for a moment: the chaos suite's
 * own ledger read crashed on it (three-broker run). Retriable answers are retried for up to 30 s.
 */
async function bounds(kafka: Kafka, topic: string, since: number | undefined, until: number | undefined): Promise<Bounds> {
  return retryBriefly(() => boundsOnce(kafka, topic, since, until));
}

async function boundsOnce(kafka: Kafka, topic: string, since: number | undefined, until: number | undefined): Promise<Bounds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = (await topicEnds(admin, [topic])).get(topic) ?? new Map<number, bigint>();
    const lows = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.low)]));
    const start = since === undefined ? lows : await offsetsAtTime(admin, topic, since);
    // Records at or after `until` are out: the first offset at that time is where to stop.
    const stop = until === undefined ? ends : await offsetsAtTime(admin, topic, until + 1);
    for (const [p, low] of lows) if ((start.get(p) ?? low) < low) start.set(p, low);
    return { start, stop };
  } finally {
    await admin.disconnect();
  }
}

function toRecord(topic: string, partition: number, m: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string; headers?: Record<string, unknown> }): TimedRecord {
  return {
    topic,
    partition,
    offset: m.offset,
    key: m.key,
    value: m.value,
    timestamp: Number(m.timestamp),
    headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
  };
}

/** Reads [since, until] (by record timestamp) of every partition, then resolves. */
export async function readRange(opts: ReadRangeOptions): Promise<{ read: number }> {
  const { start, stop } = await bounds(opts.kafka, opts.topic, opts.since, opts.until);
  const pending = new Set([...stop].filter(([p, end]) => end > (start.get(p) ?? 0n)).map(([p]) => p));
  const total = [...pending].reduce((n, p) => n + Number(stop.get(p)! - start.get(p)!), 0);
  let read = 0;
  if (pending.size === 0) return { read };
  const consumer = opts.kafka.consumer({ groupId: `${opts.topic}.ops-read-${process.pid}-${Date.now().toString(36)}`, maxWaitTimeInMs: 200, maxBytesPerPartition: 1_048_576 });
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat }) => {
        if (!pending.has(batch.partition)) return;
        const end = stop.get(batch.partition) ?? 0n;
        const wanted = batch.messages.filter((m) => BigInt(m.offset) < end).map((m) => toRecord(batch.topic, batch.partition, m));
        try {
          if (wanted.length > 0) {
            await opts.onBatch(wanted);
            read += wanted.length;
            opts.onProgress?.(read, total);
          }
        } catch (err) {
          fail(err);
          return;
        }
        await heartbeat();
        const last = batch.messages.at(-1);
        if (last && BigInt(last.offset) + 1n >= end) pending.delete(batch.partition);
        if (pending.size === 0) finish();
      },
    });
    for (const [partition, offset] of start) consumer.seek({ topic: opts.topic, partition, offset: offset.toString() });
    await done;
  } finally {
    await consumer.disconnect();
  }
  return { read };
}

export interface TopicFollower {
  /** Resolves once every partition was read up to the end it had when following started. */
  caughtUp: Promise<void>;
  close(): Promise<void>;
}

/** Reads from `since` (epoch ms, or the beginning) and keeps following new records until closed. */
export async function followTopic(opts: { kafka: Kafka; topic: string; since?: number; onBatch(records: TimedRecord[]): void | Promise<void> }): Promise<TopicFollower> {
  const { start, stop } = await bounds(opts.kafka, opts.topic, opts.since, undefined);
  const behind = new Set([...stop].filter(([p, end]) => end > (start.get(p) ?? 0n)).map(([p]) => p));
  let caught!: () => void;
  const caughtUp = new Promise<void>((r) => (caught = r));
  if (behind.size === 0) caught();
  const consumer = opts.kafka.consumer({ groupId: `${opts.topic}.ops-follow-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, maxWaitTimeInMs: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      await opts.onBatch(batch.messages.map((m) => toRecord(batch.topic, batch.partition, m)));
      const last = batch.messages.at(-1);
      if (last && BigInt(last.offset) + 1n >= (stop.get(batch.partition) ?? 0n) && behind.delete(batch.partition) && behind.size === 0) caught();
    },
  });
  for (const [partition, offset] of start) consumer.seek({ topic: opts.topic, partition, offset: offset.toString() });
  return { caughtUp, close: () => consumer.disconnect() };
}
