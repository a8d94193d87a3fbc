/**
 * Waiting out a transient failure without losing the thread: capped exponential backoff with
 * jitter, abandoned as soon as the work no longer matters (the partition moved, the process is
 * stopping). Used for registry, broker and database hiccups inside a batch, so a hiccup costs
 * a delay, never a dead-lettered lead or a crashed consumer.
 */
import { Abandoned, isRetriable } from '../errors.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /**
   * True when retrying no longer makes sense; checked after a failure and while waiting, not
   * before the first attempt: work that can finish now (a batch in hand at shutdown) finishes.
   */
  abandon(): boolean;
  /** Told about each failure that will be retried. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
  sleep?(ms: number): Promise<void>;
}

export { Abandoned };

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs fn until it succeeds or throws something not retriable; throws Abandoned when told to stop. */
export async function withBackoff<T>(fn: () => Promise<T>, opts: BackoffOptions, retriable: (err: unknown) => boolean = isRetriable): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retriable(err)) throw err;
      if (opts.abandon()) throw new Abandoned(`after: ${(err as Error).message}`);
      const delay = Math.round(Math.min(opts.maxMs, opts.initialMs * 2 ** attempt) * (0.5 + Math.random() / 2));
      opts.onRetry?.(err, attempt + 1, delay);
      // Sleep in short steps so a rebalance or a shutdown is noticed quickly.
      for (let waited = 0; waited < delay; waited += 100) {
        if (opts.abandon()) throw new Abandoned('while waiting to retry');
        await sleep(Math.min(100, delay - waited));
      }
    }
  }
}

/**
 * For one-off admin calls (start-up, reading a topic's bounds) rather than a batch: retriable
 * answers (a leader moving, a topic just created elsewhere) are retried for up to `waitMs`; then,
 * or on anything else, the error itself is thrown, so the caller's one-line message names it.
 */
export async function retryBriefly<T>(fn: () => Promise<T>, opts: { waitMs?: number; sleep?: (ms: number) => Promise<void>; retriable?: (err: unknown) => boolean } = {}): Promise<T> {
  const retriable = opts.retriable ?? isRetriable;
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retriable(err) || Date.now() >= deadline) throw err;
      await sleep(Math.min(2000, 200 * 2 ** attempt));
    }
  }
}
