/**
 * How the sent-texts store (sent-store.ts) talks to its database: every call with its own time
 * limit and a slot in the connection pool, inserts in chunks whose duplicate keys are reported
 * rather than thrown, and any other failure turned into a RetriableError (the sink's batch
 * waits; a text is never sent on a guess). Kept apart from the store's logic, which is about
 * phones, intents and takeovers, not about timeouts and FerretDB's insert behaviour.
 */
import type { Collection } from 'mongodb';
import pLimit from 'p-limit';
import { Abandoned, RetriableError, messageOf } from '../../errors.js';
import { deadline } from '../../mongo-ops.js';

/** Long: a retry issued while the first attempt still runs would double the work (see src/history/store.ts). */
const OP_TIMEOUT_MS = 60_000;
/** Calls at once: the MongoDB client's pool is 8 (src/history/store.ts), shared with caps and the ledger. */
const POOL_SIZE = 6;

const duplicateIndexes = (err: unknown): Set<number> => {
  const writeErrors = ((err as { writeErrors?: { code?: number; index: number }[] }).writeErrors ?? []) as { code?: number; index: number }[];
  // No per-document errors (a timeout, a lost connection) or a duplicate we cannot place:
  // nothing is known about what was written, so the caller retries.
  if (writeErrors.length === 0) throw err;
  if (!writeErrors.every((w) => w.code === 11000)) throw err;
  return new Set(writeErrors.map((w) => w.index));
};

/** The few documents that already existed are read one by one, by _id, a few at a time. */
const reads = pLimit(8);
export async function each<T, R>(list: T[], op: (item: T) => Promise<R>): Promise<R[]> {
  return Promise.all(list.map((item) => reads(() => op(item))));
}

/**
 * Every call to the store has its own time limit, not the whole operation: a batch of a
 * thousand claims after a backlog is many calls, and one limit over all of them expired before
 * the work was done, so each retry redid it all (and more, now duplicates) and never finished.
 * The clock starts when the call gets a connection, not when it is queued: with the deliver
 * stages' jobs in flight at once, calls waiting for one of the pool's connections timed out in
 * the queue, were retried as duplicates (each a transaction of its own on FerretDB) and made the
 * queue longer still (chaos run 5). Calls wait for a slot here, one per pooled connection.
 */
const slots = pLimit(POOL_SIZE);
export const call = <R>(what: string, op: () => Promise<R>): Promise<R> => slots(() => deadline(`SMS store ${what}`, OP_TIMEOUT_MS, op()));

/** Turns a database failure into "wait and try again": a text is never sent on a guess. */
export async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RetriableError || err instanceof Abandoned) throw err;
    throw new RetriableError(`SMS store ${what}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Inserts in chunks of 100: FerretDB answers a chunk holding one duplicate by inserting each of
 * its documents in a transaction of its own. Returns the indexes (in docs) that already existed.
 */
export async function insertAll<D extends { _id: string }>(col: Collection<D>, count: number, make: (i: number) => D): Promise<Set<number>> {
  const existing = new Set<number>();
  for (let start = 0; start < count; start += 100) {
    // Documents are made when the call gets its connection, so a time they hold is when they were written.
    const chunk = () => Array.from({ length: Math.min(100, count - start) }, (_, k) => make(start + k));
    try {
      await call(`insert into ${col.collectionName}`, () => col.insertMany(chunk() as unknown as Parameters<Collection<D>['insertMany']>[0], { ordered: false }));
    } catch (err) {
      for (const i of duplicateIndexes(err)) existing.add(start + i);
    }
  }
  return existing;
}
