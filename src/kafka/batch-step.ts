/**
 * The heart of every consuming stage, with no Kafka client in it: one fetched batch goes
 *   decode → handle → encode (validated) → produce (bounded, acks=all) → offset ledger → commit
 * over two small interfaces (RecordProducer, BatchControl) that src/kafka/kafkajs-stage.ts
 * implements with KafkaJS and the unit tests implement with fakes. What a stage itself implements
 * (StageLogic) and the records it sees are in src/kafka/stage-contract.ts.
 *
 * What may go wrong, and what happens then (nothing is lost, nothing wedges):
 *   - bytes that can never be decoded      → the poison topic with context headers; committed
 *   - registry / broker / database hiccup  → waited out with backoff, heartbeating; nothing skipped
 *   - a handler bug on one record          → that record is dead-lettered with the reason
 *   - an output that breaks its schema or is too large for the broker → its lead is dead-lettered
 *   - the partition moved (rebalance)      → work abandoned, nothing committed: the new owner redoes it
 * A handler may finish some records later (the delay stage holds them until due): it answers
 * { deferred: true } and calls ctx.complete() when done. The commit point then waits for them
 * (OffsetLedger), so a crash re-reads them instead of losing them.
 */
import type { Logger } from 'pino';
import { PoisonMessageError, RetriableError, isRetriable, messageOf } from '../errors.js';
import { Abandoned, withBackoff } from './backoff.js';
import type { Encoder } from './codec.js';
import { metrics } from '../metrics.js';
import { OffsetLedger } from './offset-ledger.js';
import { chunkRecords, fitsAlone, type EncodedRecord, type ProduceLimits } from './produce-limits.js';
import { RecordTooLargeError, type Consumed, type Output, type RawRecord, type RecordProducer, type RecordResult, type StageContext, type StageLogic } from './stage-contract.js';

export interface BatchControl {
  heartbeat(): Promise<void>;
  /** The partition was taken away while we worked. */
  isStale(): boolean;
  commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
}

export interface BatchStepOptions<T> {
  stage: string;
  logic: StageLogic<T>;
  encoder: Encoder;
  producer: RecordProducer;
  limits: ProduceLimits;
  poisonTopic: string;
  log: Logger;
  heartbeatEveryMs: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Commits for deferred records finishing outside a batch. */
  commitOutside(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  isStopping(): boolean;
  /** Told when work is waiting on a transient failure (readiness shows it). */
  onTransient?(err: unknown): void;
  /**
   * Records worked and committed at a time within a fetched batch (default: the whole batch).
   * After a backlog a fetch holds thousands of records; worked as one, a slow store stretched a
   * single SMS job past its send window and nothing was texted at all (chaos full run, issue 7).
   */
  jobSize?: number;
}

export type BatchStatus = 'committed' | 'stale' | 'abandoned';

export function createBatchStep<T>(opts: BatchStepOptions<T>) {
  const ledger = new OffsetLedger();
  const log = opts.log;
  const backoff = opts.backoff ?? { initialMs: 200, maxMs: 10_000 };
  let commitChain: Promise<void> = Promise.resolve();

  const retrying = <R>(what: string, fn: () => Promise<R>, abandon: () => boolean) =>
    withBackoff(fn, {
      ...backoff,
      abandon,
      onRetry: (err, attempt, delayMs) => {
        opts.onTransient?.(err);
        metrics.stageRetries.inc({ stage: opts.stage, step: what });
        log.warn({ err: messageOf(err), attempt, delayMs }, `${what} failed; retrying`);
      },
    });

  /** Commits are serialized: two partitions finishing together must not race. */
  function commit(via: BatchControl['commit']): Promise<void> {
    commitChain = commitChain.then(async () => {
      const offsets = ledger.takeCommits();
      if (offsets.length === 0) return;
      try {
        await via(offsets);
      } catch (err) {
        // The partition moved: its new owner re-reads from the last commit. Nothing is lost.
        log.warn({ err: messageOf(err) }, 'commit failed; offsets will be re-read after the rebalance');
      }
    });
    return commitChain;
  }

  /** Encodes a record's outputs; a schema or size problem dead-letters the record instead. */
  function encodeFor(record: Consumed<T>, outputs: Output[]): EncodedRecord[] {
    const encodeAll = (list: Output[]) => list.map((o) => ({ topic: o.topic, key: o.key, value: opts.encoder.encode(o.topic, o.value), ...(o.headers ? { headers: o.headers } : {}) }));
    let reason: string;
    try {
      const encoded = encodeAll(outputs);
      const tooLarge = encoded.find((e) => !fitsAlone(opts.limits, e));
      if (!tooLarge) return encoded;
      reason = `output for ${tooLarge.topic} too large: ${tooLarge.value.length} bytes, the broker accepts ${opts.limits.maxBatchBytes(tooLarge.topic)}`;
    } catch (err) {
      reason = `output cannot be encoded: ${messageOf(err)}`;
    }
    log.error({ topic: record.topic, partition: record.partition, offset: record.offset, reason }, 'dead-lettering a record whose output cannot be produced');
    metrics.stageFailed.inc({ stage: opts.stage, reason: 'output_rejected' });
    return encodeAll(opts.logic.deadLetter(record, reason)); // throws only on a bug in deadLetter itself
  }

  async function produce(records: EncodedRecord[], abandon: () => boolean): Promise<void> {
    const queue = chunkRecords(records, opts.limits);
    const counted = () => {
      const byTopic = new Map<string, number>();
      for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) metrics.stageOut.inc({ stage: opts.stage, topic }, n);
    };
    while (queue.length > 0) {
      const chunk = queue.shift()!;
      try {
        await retrying('produce', () => opts.producer.send(chunk), abandon);
      } catch (err) {
        // Our estimate of the broker's limit was wrong: halve and try again, in order.
        if (!(err instanceof RecordTooLargeError) || chunk.length === 1) throw err;
        const half = Math.ceil(chunk.length / 2);
        queue.unshift(chunk.slice(0, half), chunk.slice(half));
      }
    }
    counted();
  }

  async function decodeAll(records: RawRecord[], abandon: () => boolean) {
    const consumed: Consumed<T>[] = [];
    const poison: EncodedRecord[] = [];
    for (const m of records) {
      try {
        const value = await retrying('decode', () => opts.logic.decode(m.value), abandon);
        consumed.push({ value, raw: m.value, topic: m.topic, partition: m.partition, offset: m.offset, key: m.key ? m.key.toString() : null, headers: m.headers });
      } catch (err) {
        if (err instanceof Abandoned) throw err;
        const reason = err instanceof PoisonMessageError ? err.message : `cannot decode: ${messageOf(err)}`;
        log.error({ topic: m.topic, partition: m.partition, offset: m.offset, reason }, 'poison message dead-lettered');
        metrics.stageFailed.inc({ stage: opts.stage, reason: 'poison' });
        poison.push({
          topic: opts.poisonTopic,
          key: m.key,
          value: m.value ?? Buffer.alloc(0),
          headers: { ...m.headers, 'x-dead-reason': reason.slice(0, 500), 'x-dead-stage': opts.stage, 'x-original-topic': m.topic, 'x-original-partition': String(m.partition), 'x-original-offset': m.offset },
        });
      }
    }
    return { consumed, poison };
  }

  /** The handler's results; a failing batch is retried when transient, else split to find the culprit. */
  async function handleAll(records: Consumed<T>[], ctx: StageContext<T>, abandon: () => boolean): Promise<RecordResult[]> {
    const once = async (list: Consumed<T>[]) => {
      const results = await retrying('handle', () => opts.logic.handle(list, ctx, abandon), abandon);
      if (results.length !== list.length) throw new Error(`stage returned ${results.length} results for ${list.length} records`);
      return results;
    };
    try {
      return await once(records);
    } catch (err) {
      if (err instanceof Abandoned || isRetriable(err)) throw err;
      log.error({ err: messageOf(err), records: records.length }, 'stage failed on a batch; handling its records one by one');
      const results: RecordResult[] = [];
      for (const r of records) {
        try {
          results.push(...(await once([r])));
        } catch (one) {
          if (one instanceof Abandoned || isRetriable(one)) throw one;
          metrics.stageFailed.inc({ stage: opts.stage, reason: 'handler_error' });
          results.push({ outputs: opts.logic.deadLetter(r, `stage ${opts.stage} failed: ${messageOf(one)}`) });
        }
      }
      return results;
    }
  }

  const context: StageContext<T> = {
    log,
    async complete(record, outputs, stillOwned) {
      const abandon = () => !stillOwned() || opts.isStopping();
      await produce(encodeFor(record, outputs), abandon);
      if (!stillOwned()) return; // a rebalance happened meanwhile: the new owner redoes it
      ledger.done(record.topic, record.partition, record.offset);
      await commit(opts.commitOutside);
    },
  };

  /**
   * decode → handle → encode → produce for one batch; returns the offsets whose records the
   * handler deferred (they are marked done by ctx.complete). Throws Abandoned when told to stop.
   */
  async function work(records: RawRecord[], abandon: () => boolean): Promise<Set<string>> {
    const { consumed, poison } = await decodeAll(records, abandon);
    metrics.stageIn.inc({ stage: opts.stage }, consumed.length);
    const results = consumed.length > 0 ? await handleAll(consumed, context, abandon) : [];
    const encoded: EncodedRecord[] = [...poison];
    const deferred = new Set<string>();
    results.forEach((result, i) => {
      const record = consumed[i]!;
      if ('deferred' in result) deferred.add(record.offset);
      else encoded.push(...encodeFor(record, result.outputs));
    });
    await produce(encoded, abandon);
    return deferred;
  }

  /** The batch in hand: worked, then committed before the consumer fetches again. */
  async function processBatch(records: RawRecord[], ctl: BatchControl): Promise<BatchStatus> {
    if (records.length === 0) return 'committed';
    const beat = setInterval(() => void ctl.heartbeat().catch(() => undefined), opts.heartbeatEveryMs);
    const abandon = () => ctl.isStale() || opts.isStopping();
    const timer = metrics.batchSeconds.startTimer({ stage: opts.stage });
    try {
      for (const m of records) ledger.track(m.topic, m.partition, m.offset);
      // Job by job, each committed before the next: progress is kept, and a rebalance or a
      // shutdown is noticed between jobs instead of after the whole batch.
      const size = opts.jobSize ?? records.length;
      for (let start = 0; start < records.length; start += size) {
        const job = records.slice(start, start + size);
        if (start > 0 && abandon()) return ctl.isStale() ? 'stale' : 'abandoned';
        const deferred = await work(job, abandon);
        if (ctl.isStale()) {
          log.info({ topic: job[0]!.topic, partition: job[0]!.partition }, 'batch went stale; not committing');
          return 'stale';
        }
        for (const m of job) if (!deferred.has(m.offset)) ledger.done(m.topic, m.partition, m.offset);
        await commit(ctl.commit);
      }
      timer();
      return 'committed';
    } catch (err) {
      if (err instanceof Abandoned) return 'abandoned';
      throw err;
    } finally {
      clearInterval(beat);
    }
  }

  return {
    ledger,
    context,
    processBatch,
    work,
    commit,
    /** After a rebalance every partition starts over from its committed offset. */
    reset: () => ledger.reset(),
    /** Resolves once commits in flight are done (shutdown). */
    settled: () => commitChain,
  };
}

export type BatchStep<T> = ReturnType<typeof createBatchStep<T>>;
export { RetriableError };
