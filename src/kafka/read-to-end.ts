/**
 * Reads a topic from the beginning up to where it ends now, in batches, then stops: for
 * rebuilding what is derived from a topic (the history store) and for replays. It uses a group
 * of its own and commits nothing, so it never disturbs the running stages.
 */
import type { Kafka } from 'kafkajs';
import type { RawRecord } from './batch-step.js';

export async function readToEnd(opts: {
  kafka: Kafka;
  topic: string;
  onBatch(records: RawRecord[]): Promise<void>;
  /** Called now and then with how far it got. */
  onProgress?(read: number, total: number): void;
}): Promise<{ read: number }> {
  const admin = opts.kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(opts.topic);
  await admin.disconnect();
  const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  const total = offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0);
  const pending = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  let read = 0;
  if (pending.size === 0) return { read };

  const consumer = opts.kafka.consumer({ groupId: `${opts.topic}.read-${process.pid}-${Date.now().toString(36)}`, maxWaitTimeInMs: 200, maxBytesPerPartition: 1_048_576 });
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const end = ends.get(batch.partition) ?? 0n;
      const wanted = batch.messages.filter((m) => BigInt(m.offset) < end);
      try {
        if (wanted.length > 0) {
          await opts.onBatch(
            wanted.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value,
              headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
            })),
          );
          read += wanted.length;
          opts.onProgress?.(read, total);
        }
      } catch (err) {
        fail(err);
        return;
      }
      for (const m of batch.messages) resolveOffset(m.offset);
      await heartbeat();
      const last = batch.messages.at(-1);
      if (last && BigInt(last.offset) + 1n >= end) pending.delete(batch.partition);
      if (pending.size === 0) finish();
    },
  });
  try {
    await done;
  } finally {
    await consumer.disconnect();
  }
  return { read };
}
