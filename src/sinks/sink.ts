/**
 * The one interface every destination implements: deliver a batch, and say for each lead
 * whether it was delivered, should be retried later, or is dead (will never succeed).
 * Sinks know nothing of Kafka or offsets; the stage runner turns outcomes into commits,
 * leads.backup records and leads.dlq records (src/sinks/outcomes.ts).
 */
import type { DistributionOutcome } from '../distribution/outcome.js';
import { Abandoned } from '../errors.js';
import type { LeadEvent } from '../lead.js';

export type DeliveryOutcome =
  | { status: 'delivered'; detail?: string }
  | { status: 'retry'; error: string }
  | { status: 'dead'; reason: string }
  /** Deliberately not sent, and that is final and correct (opted out, duplicate): history only. */
  | { status: 'skipped'; reason: string; as: 'suppressed' | 'duplicate' }
  /** This destination failed; try the next one of the same kind now (SMS provider fallback). */
  | { status: 'fallback'; error: string; next: string }
  /** Not now (quiet hours): hold until `until`, then try the same destination again. */
  | { status: 'defer'; until: number; reason: string }
  /** A lead distributed among buyers (sink-primary): its plan and attempts, settled by src/stages/distribution-settle.ts. */
  | DistributionOutcome;

/** The batch no longer matters: its leads are being handed to another owner, or the process stops. */
export interface DeliverySignal {
  abandoned(): boolean;
}

export interface Sink {
  /** Destination prefix this sink serves: "primary", "sms" or "search". */
  readonly kind: 'primary' | 'sms' | 'search';
  /**
   * One outcome per lead, in the same order. Must not throw for a destination's fault. A sink
   * whose batch can take long (SMS: paced sends, lookups; buyers: passes) checks
   * `signal.abandoned()` before each call and, once true, starts no new work; it lets go of the
   * batch at once (letGoWhenAbandoned below) and records what it did in the background.
   */
  deliver(leads: LeadEvent[], signal?: DeliverySignal): Promise<DeliveryOutcome[]>;
  close(): Promise<void>;
}

/** How often a running delivery looks whether its batch was abandoned. */
const ABANDON_POLL_MS = 100;

/** Runs `op` while the batch cannot be let go: for what another owner must not see half done. */
export type BatchHold = <R>(op: () => Promise<R>) => Promise<R>;

/**
 * The batch is let go as soon as it is abandoned: the caller gets Abandoned at once, and `work`
 * goes on in the background with what it had started (calls in flight, recording what was sent,
 * withdrawing what was not); `onLate` hears of its failure. Why: an eager rebalance waits for
 * every member's batch in hand, and an abandoned SMS job still spent up to 9 s on its store
 * bookkeeping while every partition of its provider's group stood still (chaos at 6a686f7:
 * Twilio 36.8 s without a text). Safe because nothing new is started once abandoned (each sink
 * checks the signal before every call), and what is left is what a crash at that moment would
 * have left: the next owner finds the intent in flight and waits, or asks the provider, before
 * sending; a buyer sees the same Idempotency-Key. What must not overlap with the next owner's
 * work runs under `hold` (freeing an SMS phone claim), and the batch is let go only after it.
 */
export function letGoWhenAbandoned<T>(signal: DeliverySignal | undefined, onLate: (err: unknown) => void, work: (hold: BatchHold) => Promise<T>): Promise<T> {
  let held = 0;
  const hold: BatchHold = async (op) => {
    held++;
    try {
      return await op();
    } finally {
      held--;
    }
  };
  const running = work(hold);
  if (!signal) return running;
  return new Promise<T>((resolve, reject) => {
    let letGo = false;
    const watch = setInterval(() => {
      if (!signal.abandoned() || held > 0) return;
      letGo = true;
      clearInterval(watch);
      reject(new Abandoned('batch let go; what it started finishes in the background'));
    }, ABANDON_POLL_MS);
    running.then(
      (value) => {
        clearInterval(watch);
        if (!letGo) resolve(value);
      },
      (err: unknown) => {
        clearInterval(watch);
        if (!letGo) reject(err);
        else if (!(err instanceof Abandoned)) onLate(err);
      },
    );
  });
}

/** Classifies an HTTP status the way every webhook-like destination should be treated. */
export function outcomeForStatus(status: number, detail: string): DeliveryOutcome {
  if (status >= 200 && status < 300) return { status: 'delivered', detail };
  // Requests the destination will never accept as sent: retrying cannot help.
  if ([400, 404, 405, 410, 413, 422].includes(status)) return { status: 'dead', reason: `HTTP ${status}: ${detail}` };
  // 401/403 (credentials being rotated), 408, 429, 5xx: worth another try later.
  return { status: 'retry', error: `HTTP ${status}: ${detail}` };
}
