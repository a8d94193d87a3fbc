/**
 * Steps 2–6 of the SMS sink (src/sinks/sms/sms-sink.ts), before any store call: which leads of a
 * job may be texted at all, through this provider, now. Each lead that is answered here gets its
 * outcome written into `outcomes` (same index as the job's leads); what is returned goes on to the
 * phone claims and the intents. Pure apart from the circuit's own state.
 */
import { marketOf, type LeadEvent } from '../../lead.js';
import type { DeliveryOutcome } from '../sink.js';
import type { ProviderCircuit } from './breaker.js';
import { checkQuietHours, type QuietWindows } from './quiet-hours.js';
import { masked } from './redelivery.js';
import type { SentHere } from './sent-here.js';

/** A lead still to be texted, with its index in the job and its phone. */
export interface Candidate {
  i: number;
  lead: LeadEvent;
  to: string;
}

type Outcomes = (DeliveryOutcome | undefined)[];

/** Whether this lead was tried before (a fallback, a retry): its text has an intent already. */
export const triedBefore = (lead: LeadEvent): boolean => !!lead.delivery && (lead.delivery.attempt > 0 || lead.delivery.lastError !== null);

export interface ScreenPolicy {
  optOuts: { isOptedOut(phone: string): boolean };
  eligible?(lead: LeadEvent): { allowed: true } | { allowed: false; reason: string };
  quietHours: QuietWindows;
}

/** No phone → dead; not eligible or opted out → suppressed; quiet hours → deferred; texted here before → delivered. */
export function screenLeads(leads: LeadEvent[], policy: ScreenPolicy, sentHere: SentHere, now: number, outcomes: Outcomes): Candidate[] {
  const candidates: Candidate[] = [];
  leads.forEach((lead, i) => {
    const to = lead.enrichment?.phone.e164 ?? null;
    if (!to) return void (outcomes[i] = { status: 'dead', reason: 'no E.164 phone to text' });
    const eligible = policy.eligible?.(lead) ?? { allowed: true };
    if (!eligible.allowed) return void (outcomes[i] = { status: 'skipped', as: 'suppressed', reason: eligible.reason });
    if (policy.optOuts.isOptedOut(to)) return void (outcomes[i] = { status: 'skipped', as: 'suppressed', reason: `${masked(to)} opted out` });
    const quiet = checkQuietHours({ now: new Date(now), zone: lead.enrichment?.timezone.zone ?? null, market: marketOf(lead), windows: policy.quietHours });
    if (!quiet.allowed) return void (outcomes[i] = { status: 'defer', until: quiet.releaseAt.getTime(), reason: quiet.reason });
    // A redelivery of a text this process sent: the store would answer the same, slowly.
    const known = sentHere.get(lead.leadId);
    if (known) return void (outcomes[i] = { status: 'delivered', detail: `already texted by ${known.provider} (message ${known.providerMessageId})` });
    candidates.push({ i, lead, to });
  });
  return candidates;
}

/**
 * An open circuit sends every text on; a half-open one lets one through as its trial, a new text
 * if there is one (one tried before is likelier to end without asking the provider, a redelivery
 * resolved by lookup, and a trial without an answer waits another reset time).
 */
export function admitThroughCircuit(candidates: Candidate[], circuit: ProviderCircuit, provider: string, outcomes: Outcomes): Candidate[] {
  const admitted = circuit.admit();
  const ordered = [...candidates];
  if (admitted === 'one') {
    const trial = Math.max(0, ordered.findIndex((c) => !triedBefore(c.lead)));
    ordered.unshift(...ordered.splice(trial, 1));
  }
  const skipped = admitted === 'all' ? [] : admitted === 'one' ? ordered.splice(1) : ordered.splice(0);
  const circuitOpen = `${provider}: circuit open (provider keeps failing)`;
  for (const c of skipped) {
    const fallback = c.lead.delivery?.fallbacks[0];
    outcomes[c.i] = fallback ? { status: 'fallback', error: circuitOpen, next: fallback } : { status: 'retry', error: circuitOpen };
  }
  return ordered;
}

/**
 * One person, one text per window, within this job first (job order decides which of two leads
 * for one person goes first); the phone claims then decide against every process.
 */
export function oncePerPerson(candidates: Candidate[], outcomes: Outcomes): Candidate[] {
  const firstInBatch = new Map<string, string>();
  const leadsInBatch = new Set<string>();
  return candidates.filter((c) => {
    // The same lead twice in one job (an upstream stage redelivered it after a crash): one copy
    // is handled. Two copies taking over one failed intent together both "won" on FerretDB and
    // both were sent (chaos: 10 people texted twice); the first copy carries the lead on.
    if (leadsInBatch.has(c.lead.leadId)) {
      outcomes[c.i] = { status: 'skipped', as: 'duplicate', reason: 'the same lead twice in one batch (redelivered upstream): handled once' };
      return false;
    }
    leadsInBatch.add(c.lead.leadId);
    const earlier = firstInBatch.get(c.to);
    if (earlier) {
      outcomes[c.i] = { status: 'skipped', as: 'duplicate', reason: `duplicate of lead ${earlier}: phone texted within the dedup window` };
      return false;
    }
    firstInBatch.set(c.to, c.lead.leadId);
    return true;
  });
}
