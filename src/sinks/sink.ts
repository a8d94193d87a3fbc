/**
 * The one interface every destination implements: deliver a batch, and say for each lead
 * whether it was delivered, should be retried later, or is dead (will never succeed).
 * Sinks know nothing of Kafka or offsets; the stage runner turns outcomes into commits,
 * leads.backup records and leads.dlq records (src/sinks/outcomes.ts).
 */
import type { DistributionOutcome } from '../distribution/outcome.js';
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
   * `signal.abandoned()` before each call and, once true, starts no new work, records what it did,
   * and throws Abandoned (src/errors.ts).
   */
  deliver(leads: LeadEvent[], signal?: DeliverySignal): Promise<DeliveryOutcome[]>;
  close(): Promise<void>;
}

/** Classifies an HTTP status the way every webhook-like destination should be treated. */
export function outcomeForStatus(status: number, detail: string): DeliveryOutcome {
  if (status >= 200 && status < 300) return { status: 'delivered', detail };
  // Requests the destination will never accept as sent: retrying cannot help.
  if ([400, 404, 405, 410, 413, 422].includes(status)) return { status: 'dead', reason: `HTTP ${status}: ${detail}` };
  // 401/403 (credentials being rotated), 408, 429, 5xx: worth another try later.
  return { status: 'retry', error: `HTTP ${status}: ${detail}` };
}
