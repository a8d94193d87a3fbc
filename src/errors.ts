/**
 * The two kinds of failure a stage must tell apart, because they call for opposite answers:
 *   RetriableError      the world is briefly unavailable (registry, broker, database): wait and try
 *                       the same record again; never dead-letter it for this.
 *   PoisonMessageError  these bytes can never be read: dead-letter them and move on.
 * Anything else thrown by a handler is treated as a bug tied to the record in hand: the record is
 * dead-lettered with the reason rather than crash-looping the stage.
 */
export class RetriableError extends Error {
  override name = 'RetriableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The work no longer matters (its partition is being taken away, the process is stopping): thrown
 * to stop it early. Nothing is committed; whoever owns the records next redoes what was not done.
 */
export class Abandoned extends Error {
  override name = 'Abandoned';
  constructor(readonly why: string) {
    super(`abandoned: ${why}`);
  }
}

export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/** True for our RetriableError and for client errors that say so themselves (KafkaJS, MongoDB). */
export function isRetriable(err: unknown): boolean {
  if (err instanceof RetriableError) return true;
  const e = err as { retriable?: unknown; name?: unknown; hasErrorLabel?: (l: string) => boolean } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.retriable === true) return true;
  if (typeof e.hasErrorLabel === 'function' && (e.hasErrorLabel('RetryableWriteError') || e.hasErrorLabel('TransientTransactionError'))) return true;
  return typeof e.name === 'string' && /^Mongo(Network|ServerSelection|NetworkTimeout|PoolCleared|Timeout)/.test(e.name);
}

/** Message of anything thrown, for logs and reasons. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
