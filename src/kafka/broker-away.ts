/**
 * "No broker answered": the broker (or the one holding a group's coordinator) is down, restarting
 * or moving. It heals by itself, so a process waits it out warm instead of exiting; a restart
 * costs far more than the wait (chaos, one broker: a role process restarted during the broker's
 * 25 s outage was back in its groups 20-40 s after the broker, a process that stayed up in 2-5 s).
 *
 * KafkaJS wraps the cause (KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded), so the
 * whole cause chain is read. "Failed to find group coordinator" is one KafkaJS gives up on for
 * good (its consumer does not restart itself after it), though it only means no broker answered.
 */
import { retryBriefly } from './backoff.js';

/**
 * How long start-up waits for a broker that is away before its one-line error: within the 60 s
 * each start-up step gets (src/resources.ts), with room for KafkaJS's own ~11 s of retries.
 */
export const START_BROKER_WAIT_MS = 30_000;

const AWAY_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSRequestTimeoutError',
]);
const AWAY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE']);

/** True when the error or one of its causes (KafkaJS wraps them) passes `test`. */
export function inCauseChain(err: unknown, test: (e: { name?: unknown; code?: unknown }) => boolean): boolean {
  let e = err as { name?: unknown; code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if (test(e)) return true;
    if (e.cause === e) break;
    e = e.cause as typeof e;
  }
  return false;
}

export function isBrokerAway(err: unknown): boolean {
  return inCauseChain(err, (e) => (typeof e.name === 'string' && AWAY_NAMES.has(e.name)) || (typeof e.code === 'string' && AWAY_CODES.has(e.code)));
}

/**
 * A start-up call to Kafka that waits up to `waitMs` for a broker that is away, telling `onWait`
 * once; anything else (and the outage past `waitMs`) is thrown for the caller's one-line error.
 */
export function untilBrokerAnswers<T>(fn: () => Promise<T>, opts: { waitMs: number; onWait(err: unknown): void; sleep?: (ms: number) => Promise<void> }): Promise<T> {
  let told = false;
  return retryBriefly(
    async () => {
      try {
        return await fn();
      } catch (err) {
        if (isBrokerAway(err) && !told) {
          told = true;
          opts.onWait(err);
        }
        throw err;
      }
    },
    { waitMs: opts.waitMs, retriable: isBrokerAway, ...(opts.sleep ? { sleep: opts.sleep } : {}) },
  );
}
