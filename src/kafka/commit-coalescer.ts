/**
 * Commits of a stage that works batch by batch (enrich, route, the delay stages, history),
 * gathered and sent at most every `intervalMs`: the latest offset per partition.
 *
 * Why: at light load a fetched batch holds one or two leads, and each batch's commit was a
 * request of its own: 0.7 OffsetCommits per lead in enrich and as many in route at 5,000
 * leads/min, a quarter of every request the router sends to Kafka (`leadrouter_kafka_requests_total`),
 * each an append to `__consumer_offsets` on the broker and a turn on the coordinator's connection,
 * where the stage's next fetch waits behind it. Deliver stages already gather theirs
 * (src/kafka/pipeline.ts).
 *
 * What it does not change: an offset is still added only after the batch's outputs were
 * acknowledged (the ledger decides what may be committed), so at-least-once holds; a crash or a
 * rebalance re-reads at most `intervalMs` more of work, which downstream idempotency absorbs.
 * One commit is in flight at a time, in order. While stopping, `flush()` sends at once and its
 * answer is waited for, so the last commit lands before the group is left.
 */
export interface CommitOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface CommitCoalescer {
  /** Offsets to commit, sent within `intervalMs` (a later offset for a partition replaces an earlier one). */
  add(offsets: CommitOffset[]): void;
  /** Sends what is pending now; resolves once every commit sent so far has been answered (rejects if this one failed). */
  flush(): Promise<void>;
  /** Forgets what is pending (the assignment it belonged to is gone: its new owner re-reads it). */
  drop(): void;
  /** Offsets added and not yet sent. */
  pending(): number;
}

export interface CommitCoalescerOptions {
  intervalMs: number;
  send(offsets: CommitOffset[]): Promise<void>;
  /** A commit sent by the timer failed: the records are read again after the rebalance. */
  onError(err: unknown): void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

export function createCommitCoalescer(opts: CommitCoalescerOptions): CommitCoalescer {
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
  const waiting = new Map<string, CommitOffset>();
  let timer: unknown = null;
  // Commits go out one after another: an older one never lands after a newer one.
  let chain: Promise<void> = Promise.resolve();

  const cancelTimer = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };

  function flush(): Promise<void> {
    cancelTimer();
    if (waiting.size === 0) return chain;
    const offsets = [...waiting.values()];
    waiting.clear();
    const sent = chain.then(() => opts.send(offsets));
    chain = sent.catch(() => undefined);
    return sent;
  }

  return {
    add(offsets) {
      for (const o of offsets) waiting.set(`${o.topic}\u0000${o.partition}`, o);
      if (waiting.size === 0 || timer !== null) return;
      if (opts.intervalMs <= 0) return void flush().catch(opts.onError);
      timer = setTimer(() => {
        timer = null;
        flush().catch(opts.onError);
      }, opts.intervalMs);
    },
    flush,
    drop() {
      cancelTimer();
      waiting.clear();
    },
    pending: () => waiting.size,
  };
}
