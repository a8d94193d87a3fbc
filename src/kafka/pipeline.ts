/**
 * Pipelined batches, for deliver stages: a fetched batch is accepted (its offsets tracked in the
 * ledger) and worked on in the background, and the consumer goes straight back to fetching.
 *
 * Why: KafkaJS fetches, hands every partition's batch to eachBatch, and fetches again only when
 * all of them have returned. A deliver stage waits on destinations (a buyer answering in 800 ms,
 * an SMS provider in 2 s), so with batches in hand one slow answer held every partition of the
 * process, and a lead behind it waited a whole fetch cycle per hop. Here the slow answer holds
 * only its own leads.
 *
 * What keeps it at-least-once, exactly as the batch in hand:
 *   - the commit point comes from the same offset ledger: a batch finishing before an older one
 *     waits behind it, so nothing unfinished is ever committed past;
 *   - a rebalance (revoke) bumps a generation: older work stops retrying, marks nothing done and
 *     commits nothing, and the partition's new owner redoes it from the committed offset;
 *   - back-pressure: the adapter pauses fetching while too many records are unfinished;
 *   - stop: drain() waits for the work in flight (retries give up at once), then commits what
 *     finished, before the consumer leaves its group.
 * A failure that is not a transient one (a bug) is reported through onFailed: the process is
 * restarted and the uncommitted records are read again.
 *
 * Batches accepted in the same turn of the event loop (KafkaJS hands a fetch's partitions to
 * eachBatch one after another without waiting on I/O) are gathered into the same jobs: every job
 * costs its sink a round of store calls or a bulk request whatever its size, and under light load
 * a fetch brings 1-2 leads per partition (5,000/min: a third fewer buyer jobs and bulk requests).
 */
import { Abandoned } from './backoff.js';
import type { BatchStep } from './batch-step.js';
import type { RawRecord } from './stage-contract.js';
import { metrics } from '../metrics.js';

export interface PipelineOptions {
  stage: string;
  /** Commits offsets outside a batch (consumer.commitOffsets). */
  commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  isStopping(): boolean;
  /** A batch finished (or was dropped): re-check back-pressure. */
  onProgress(): void;
  onFailed(err: Error): void;
  /** Finished batches are committed together, at most this often. */
  commitEveryMs?: number;
  /**
   * A fetched batch is worked on in jobs of at most this many records (default JOB_SIZE): after a
   * backlog KafkaJS hands over thousands at once, and one job over all of them made every
   * database call and every retry as large as the backlog.
   */
  maxJobRecords?: number;
  /** Records worked on at once, at most (the stage's maxPending): room() keeps within it. */
  maxRecords: number;
}

/** Records per job in deliver stages, pipelined or not. */
export const JOB_SIZE = 100;

export function createPipeline<T>(step: BatchStep<T>, opts: PipelineOptions) {
  let generation = 0;
  const inFlight = new Set<Promise<void>>();
  let running = 0; // records in jobs not yet finished, of every generation
  let commitTimer: NodeJS.Timeout | null = null;
  const commitEveryMs = opts.commitEveryMs ?? 50;
  const maxJobRecords = opts.maxJobRecords ?? JOB_SIZE;

  function scheduleCommit(): void {
    if (commitTimer) return;
    commitTimer = setTimeout(() => {
      commitTimer = null;
      void step.commit(opts.commit);
    }, commitEveryMs);
  }

  async function run(records: RawRecord[], mine: number): Promise<void> {
    const owned = () => mine === generation;
    const timer = metrics.batchSeconds.startTimer({ stage: opts.stage });
    try {
      const deferred = await step.work(records, () => !owned() || opts.isStopping());
      if (!owned()) return; // the partition moved meanwhile: its new owner redoes the batch
      for (const m of records) if (!deferred.has(m.offset)) step.ledger.done(m.topic, m.partition, m.offset);
      timer();
      scheduleCommit();
    } catch (err) {
      if (err instanceof Abandoned) return;
      opts.onFailed(err instanceof Error ? err : new Error(String(err)));
    }
  }

  // Accepted this turn, not yet started as jobs (see the header): started at setImmediate.
  let gathered: RawRecord[] = [];
  let gatheredIn = 0; // the generation they were accepted in
  let startScheduled = false;

  function startGathered(): void {
    startScheduled = false;
    const records = gathered;
    gathered = [];
    if (gatheredIn !== generation) {
      // Revoked before they started: their partitions' new owner reads them again.
      running -= records.length;
      opts.onProgress();
      return;
    }
    for (let start = 0; start < records.length; start += maxJobRecords) {
      const slice = records.slice(start, start + maxJobRecords);
      const job = run(slice, generation).finally(() => {
        running -= slice.length;
        inFlight.delete(job);
        opts.onProgress();
      });
      inFlight.add(job);
    }
  }

  return {
    /** Takes a fetched batch; the consumer may fetch the next one right away. */
    accept(records: RawRecord[]): void {
      if (records.length === 0) return;
      for (const m of records) step.ledger.track(m.topic, m.partition, m.offset);
      if (gathered.length > 0 && gatheredIn !== generation) startGathered(); // drops the revoked ones
      gathered.push(...records);
      gatheredIn = generation;
      running += records.length;
      if (!startScheduled) {
        startScheduled = true;
        setImmediate(startGathered);
      }
    },
    /** The assignment is being taken away (rebalance): work in flight must not commit. */
    revoke(): void {
      generation++;
    },
    /**
     * How many of `remaining` fetched records may be taken now: whole jobs that fit within
     * maxRecords, or the last partial job; 0 means wait. Never more than the bound allows, so a
     * fetch of six partitions cannot overshoot it (issue 11's memory target).
     */
    room(remaining: number): number {
      const job = Math.max(1, Math.min(maxJobRecords, opts.maxRecords));
      const free = opts.maxRecords - running;
      const want = Math.min(job, remaining);
      if (free < want) return 0;
      return Math.min(remaining, Math.max(want, Math.floor(free / job) * job));
    },
    /** Jobs being worked on, counting batches gathered for the next one as one. */
    inFlight: () => inFlight.size + (gathered.length > 0 ? 1 : 0),
    /** Records being worked on, including work of an assignment already revoked (it still runs). */
    busy: () => running,
    /** Shutdown: lets the work in flight finish (or give up), then commits what finished. */
    async drain(): Promise<void> {
      if (gathered.length > 0) startGathered();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      if (commitTimer) clearTimeout(commitTimer);
      commitTimer = null;
      await step.commit(opts.commit);
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
