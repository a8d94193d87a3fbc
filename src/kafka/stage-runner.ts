/**
 * The one place that talks to a Kafka consumer. A stage hands it a `handle` function for a batch
 * of decoded leads; the runner owns everything else:
 *   consume → decode (poison → leads.dlq.poison) → handle → produce outputs (acks=all)
 *   → mark offsets done → commit explicitly → heartbeat while working → shut down cleanly.
 *
 * Why explicit commits: with autoCommit off, KafkaJS commits nothing on its own, and with
 * eachBatchAutoResolve (the default) it would resolve a batch whether or not it was delivered.
 * Here an offset is committed only after what the stage produced for it was acknowledged.
 *
 * A handler may also finish some leads later (the backup stage holds records until they are
 * due): it returns them as `deferred`, and calls `complete(lead, outputs)` when done. Their
 * offsets are resolved at once so fetching goes on, but the commit point stops at the first
 * unfinished offset (OffsetLedger), so a crash re-reads them instead of losing them.
 */
import type { Consumer, EachBatchPayload, IHeaders, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { LeadEvent } from '../lead.js';
import { type LeadCodec, PoisonMessageError } from './codec.js';
import { OffsetLedger } from './offset-ledger.js';

export interface ConsumedLead {
  event: LeadEvent;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

/** A record to produce before the input offset may be committed. */
export interface Output {
  topic: string;
  key: string;
  event: LeadEvent;
  headers?: Record<string, string>;
}

export interface BatchResult {
  /** Outputs for the leads finished in this call. */
  outputs: Output[];
  /** Leads the handler will finish later through `complete`. */
  deferred?: ConsumedLead[];
}

export interface StageContext {
  /** Finishes a deferred lead: produces its outputs, then lets its offset be committed. */
  complete(lead: ConsumedLead, outputs: Output[]): Promise<void>;
  log: Logger;
}

export interface StageRunnerOptions {
  name: string;
  groupId: string;
  topics: string[];
  kafka: Kafka;
  producer: Producer;
  codec: LeadCodec;
  log: Logger;
  poisonTopic: string;
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs: number;
  /** Pause fetching while this many offsets are unfinished (deferred leads). */
  maxPending?: number;
  handle(leads: ConsumedLead[], ctx: StageContext): Promise<BatchResult>;
  /** Called after a rebalance: deferred work for lost partitions will be redone elsewhere. */
  onRebalance?(): void;
}

export interface RunningStage {
  name: string;
  stop(): Promise<void>;
}

export async function runStage(opts: StageRunnerOptions): Promise<RunningStage> {
  const log = opts.log.child({ stage: opts.name });
  const ledger = new OffsetLedger();
  const consumer: Consumer = opts.kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs,
    heartbeatInterval: Math.max(1000, Math.floor(opts.sessionTimeoutMs / 10)),
    rebalanceTimeout: Math.max(60_000, opts.sessionTimeoutMs * 2),
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
  });
  let stopping = false;
  let paused = false;
  let commitChain: Promise<void> = Promise.resolve();

  type OffsetCommit = { topic: string; partition: number; offset: string };
  type Committer = (offsets: OffsetCommit[]) => Promise<void>;
  // Outside a batch (deferred leads finishing on their timers). Note: KafkaJS makes this a silent
  // no-op once stop() has begun; such leads are simply re-read after the restart.
  const commitThroughConsumer: Committer = (offsets) => consumer.commitOffsets(offsets);

  // Commits are serialized: two concurrent partitions must not race a lower offset past a higher one.
  const commit = (via: Committer = commitThroughConsumer): Promise<void> => {
    commitChain = commitChain.then(async () => {
      const offsets = ledger.takeCommits();
      if (offsets.length === 0) return;
      try {
        await via(offsets);
      } catch (err) {
        // A rebalance took the partition away: the new owner re-reads from the last commit.
        log.warn({ err: (err as Error).message }, 'commit failed; offsets will be re-read after rebalance');
      }
    });
    return commitChain;
  };

  const produce = async (outputs: Output[]): Promise<void> => {
    if (outputs.length === 0) return;
    const byTopic = new Map<string, { key: string; value: Buffer; headers?: IHeaders }[]>();
    for (const o of outputs) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ key: o.key, value: opts.codec.encode(o.topic, o.event), ...(o.headers ? { headers: o.headers } : {}) });
      byTopic.set(o.topic, list);
    }
    await opts.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  };

  const ctx: StageContext = {
    log,
    async complete(lead, outputs) {
      await produce(outputs);
      ledger.done(lead.topic, lead.partition, lead.offset);
      await commit();
      if (paused && ledger.pending() < (opts.maxPending ?? Infinity) / 2) {
        paused = false;
        consumer.resume(opts.topics.map((topic) => ({ topic })));
      }
    },
  };

  async function eachBatch({ batch, resolveOffset, heartbeat, isStale, commitOffsetsIfNecessary }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0) return;
    // KafkaJS sends no heartbeats while a batch is being handled: keep the membership alive.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), Math.max(500, Math.floor(opts.sessionTimeoutMs / 6)));
    try {
      const leads: ConsumedLead[] = [];
      const poison: { key: Buffer | null; value: Buffer; headers: IHeaders }[] = [];
      for (const m of batch.messages) {
        ledger.track(batch.topic, batch.partition, m.offset);
        try {
          const event = await opts.codec.decode(m.value);
          leads.push({ event, topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key ? m.key.toString() : null });
        } catch (err) {
          if (!(err instanceof PoisonMessageError)) throw err;
          log.error({ topic: batch.topic, partition: batch.partition, offset: m.offset, reason: err.message }, 'poison message dead-lettered');
          poison.push({
            key: m.key,
            value: m.value ?? Buffer.alloc(0),
            headers: {
              ...m.headers,
              'x-dead-reason': err.message,
              'x-dead-stage': opts.name,
              'x-original-topic': batch.topic,
              'x-original-partition': String(batch.partition),
              'x-original-offset': m.offset,
            },
          });
        }
      }
      if (poison.length > 0) await opts.producer.send({ topic: opts.poisonTopic, acks: -1, messages: poison });

      const result = leads.length > 0 ? await opts.handle(leads, ctx) : { outputs: [] };
      if (isStale()) {
        // The partition was reassigned while we worked: outputs are idempotent downstream,
        // but committing now could skip past work the new owner has not done.
        log.info({ topic: batch.topic, partition: batch.partition }, 'batch went stale; not committing');
      }
      await produce(result.outputs);
      const deferred = new Set((result.deferred ?? []).map((d) => d.offset));
      for (const m of batch.messages) {
        if (!deferred.has(m.offset)) ledger.done(batch.topic, batch.partition, m.offset);
        resolveOffset(m.offset); // fetch position only; what is committed comes from the ledger
      }
      // The batch's own committer, not consumer.commitOffsets(): KafkaJS silently drops the latter
      // once stop() has begun, which would lose the commit of the batch a SIGTERM lets finish
      // (and redeliver it after every deploy). With explicit offsets this one always commits.
      if (!isStale()) {
        await commit((offsets) =>
          commitOffsetsIfNecessary({
            topics: [...new Set(offsets.map((o) => o.topic))].map((topic) => ({
              topic,
              partitions: offsets.filter((o) => o.topic === topic).map(({ partition, offset }) => ({ partition, offset })),
            })),
          }),
        );
      }
      if (opts.maxPending && !paused && ledger.pending() >= opts.maxPending) {
        paused = true;
        consumer.pause(opts.topics.map((topic) => ({ topic })));
        log.warn({ pending: ledger.pending() }, 'paused fetching: too many deferred leads in flight');
      }
    } finally {
      clearInterval(beat);
    }
  }

  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    ledger.reset();
    opts.onRebalance?.();
    log.info({ assigned: e.payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, (e) => {
    log.error({ err: e.payload.error?.message, restart: e.payload.restart }, 'consumer crashed');
    // KafkaJS can crash without restarting itself; exit so the supervisor starts a fresh process.
    if (!e.payload.restart && !stopping) {
      log.fatal('consumer will not restart on its own; exiting');
      process.exit(1);
    }
  });

  await consumer.connect();
  for (const topic of opts.topics) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
    eachBatch,
  });
  log.info({ group: opts.groupId, topics: opts.topics }, 'stage running');

  return {
    name: opts.name,
    async stop() {
      stopping = true;
      // stop() waits for the batch in hand, which commits itself before it returns.
      await consumer.stop();
      await commitChain;
      await consumer.disconnect();
    },
  };
}
