/**
 * How the router talks to its MongoDB-wire store so that the store never wedges.
 *
 * FerretDB 1.x on PostgreSQL holds a PostgreSQL connection for every open cursor, from a pool of
 * 50, and a find that hits maxTimeMS never gives its connection back: fifty such timeouts (a
 * busy minute in a chaos run) and every later operation waits forever. So:
 *   - never send maxTimeMS: bound the wait on the client side instead (deadline below); the
 *     driver's socketTimeoutMS closes a connection that truly hangs, which FerretDB cleans up;
 *   - read every result in the first batch (FIRST_BATCH), so no cursor stays open between
 *     round trips, and keep result sizes bounded (lists of ids in chunks);
 *   - no bulkWrite of many updates: FerretDB takes a connection per statement and holds them all
 *     to the end of the command, so a few concurrent bulk commands exhaust the pool for good.
 *     Inserts (insertMany) are one statement and are fine.
 * Real MongoDB has neither problem; the same code is correct there too.
 */
import { RetriableError } from './errors.js';

/** Big enough that every bounded query of ours is answered in one batch (its cursor closes at once). */
export const FIRST_BATCH = 10_000;

/** Waits at most ms for op; past it the caller gets a RetriableError (the operation may still finish). */
export async function deadline<T>(what: string, ms: number, op: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      op,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RetriableError(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
