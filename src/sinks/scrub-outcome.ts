/**
 * Every free text a sink returns (a destination's error, a rejection reason, a delivery detail)
 * passes through scrubReason() with the lead's own values before it becomes a history detail, a
 * leads.backup lastError, a leads.dlq reason or header, or a log line. Applied once, centrally,
 * in src/stages/outcomes.ts, so a new sink cannot forget it.
 */
import type { LeadEvent } from '../lead.js';
import { scrubReason } from '../security/scrub.js';
import type { DeliveryOutcome } from './sink.js';

/** The lead's values that must never appear in a reason. */
export function personalValues(lead: Pick<LeadEvent, 'firstName' | 'lastName' | 'email' | 'phone' | 'enrichment'>): string[] {
  const e = lead.enrichment;
  return [lead.firstName, lead.lastName, lead.email, lead.phone, e?.email.address, e?.phone.e164, e?.name.first, e?.name.last].filter((v): v is string => typeof v === 'string');
}

export function scrubOutcome(outcome: DeliveryOutcome, lead: LeadEvent): DeliveryOutcome {
  const known = personalValues(lead);
  const clean = (text: string) => scrubReason(text, { known, max: 300 });
  switch (outcome.status) {
    case 'delivered':
      return outcome.detail === undefined ? outcome : { ...outcome, detail: clean(outcome.detail) };
    case 'retry':
      return { ...outcome, error: clean(outcome.error) };
    case 'dead':
      return { ...outcome, reason: clean(outcome.reason) };
    case 'skipped':
      return { ...outcome, reason: clean(outcome.reason) };
    case 'fallback':
      return { ...outcome, error: clean(outcome.error) };
    case 'defer':
      return { ...outcome, reason: clean(outcome.reason) };
    case 'distribution':
      return outcome; // per buyer, in src/stages/distribution-settle.ts (its notes and reasons)
  }
}
