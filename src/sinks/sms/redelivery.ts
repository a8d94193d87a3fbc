/**
 * Step 7 of the SMS sink (src/sinks/sms/sms-sink.ts): a lead whose text already had an intent is
 * a redelivery. It was texted (delivered), is being texted elsewhere right now (wait), or its
 * outcome was never learned, a crash or a timeout mid-call: the provider is asked before anything
 * is sent again. Never re-sent blind.
 */
import { deliveryKey, type LeadEvent } from '../../lead.js';
import type { DeliveryOutcome } from '../sink.js';
import type { SmsAdapter } from './adapters/adapter.js';
import type { PhoneRelease, SentStore, TextRecord } from './sent-store.js';
import type { SentHere } from './sent-here.js';

/**
 * An intent younger than this may belong to a call still in flight in another process (two
 * owners for a moment during a rebalance): wait rather than ask the provider and race it. Longer
 * than any provider timeout and batch.
 */
export const IN_FLIGHT_MS = 30_000;

/**
 * A provider's "no such message" counts only this long after the intent; sooner, the lead waits
 * and the provider is asked again. A request that timed out at our end can still reach the
 * provider and be sent: in a three-broker chaos run (75d9e29) the sandbox Twilio, short of CPU,
 * took one job's timed-out requests 38 s after our 5 s timeout (48 s after their intents). The
 * lookup at 30 s found nothing, the texts were sent again, and 9 people got two. A real
 * provider's front end gives up on a request long before this; ours waits it out.
 */
export const NOT_SENT_SETTLE_MS = 120_000;

export const masked = (phone: string): string => `${phone.slice(0, -4)}****`;

export interface RedeliveryDeps {
  provider: string;
  adapter: SmsAdapter;
  adapterFor(provider: string): SmsAdapter | undefined;
  sent: SentStore;
  sentHere: SentHere;
  now(): number;
}

/** The outcome of a redelivered text, from what the store had when its intent was recorded. */
export function createRedeliveryResolver(deps: RedeliveryDeps) {
  /** Did the provider take a text whose outcome we never learned? */
  async function lookUp(lead: LeadEvent, to: string, provider: string, since: number, now: number, release?: PhoneRelease): Promise<'sent' | 'not-sent' | DeliveryOutcome> {
    const adapter = deps.adapterFor(provider) ?? (provider === deps.provider ? deps.adapter : undefined);
    if (!adapter) return { status: 'retry', error: `text to ${masked(to)} may have gone out through ${provider}, which is not configured here; not re-sent` };
    const found = await adapter.lookup({ to, idempotencyKey: deliveryKey(lead.leadId, `sms:${provider}`), since });
    if (found.found === true) {
      await deps.sent.markSent([{ leadId: lead.leadId, phone: to, provider, providerMessageId: found.providerMessageId, sentAt: deps.now() }]);
      deps.sentHere.add(lead.leadId, { provider, providerMessageId: found.providerMessageId });
      return 'sent';
    }
    if (found.found === false) {
      if (now - since < NOT_SENT_SETTLE_MS) {
        return { status: 'defer', until: since + NOT_SENT_SETTLE_MS + 1000, reason: `${provider} has no record of the earlier attempt yet; a request that timed out can still land: asked again once it surely cannot` };
      }
      await deps.sent.markFailed([{ leadId: lead.leadId, phone: to, provider, intentAt: since }], release);
      return 'not-sent';
    }
    return { status: 'retry', error: `uncertain whether ${provider} sent the text (${found.reason}); asking again later, not re-sent` };
  }

  return async function resolve(lead: LeadEvent, to: string, k: TextRecord | 'taken', now: number, release?: PhoneRelease): Promise<{ outcome: DeliveryOutcome; lookedUp: boolean }> {
    const done = (outcome: DeliveryOutcome) => ({ outcome, lookedUp: false });
    // Waits of our own making are deferred (leads.sms.deferred), not retried: they are not the
    // provider failing, and counted as attempts they sent texts to the DLQ after a backlog
    // (stale → in flight → lookup → take over used up four of eight attempts).
    if (k === 'taken') return done({ status: 'defer', until: now + IN_FLIGHT_MS, reason: 'another process took this text over just now; checked once its call is surely over' });
    if (k.state === 'sent') return done({ status: 'delivered', detail: `already texted by ${k.provider} (message ${k.providerMessageId ?? 'unknown'})` });
    if (now - k.intentAt < IN_FLIGHT_MS) return done({ status: 'defer', until: k.intentAt + IN_FLIGHT_MS + 1000, reason: 'being texted by another process right now, or a moment ago; checked once that call is surely over' });
    const r = await lookUp(lead, to, k.provider, k.intentAt, now, release);
    if (r === 'sent') return { outcome: { status: 'delivered', detail: `texted by ${k.provider} before a crash or timeout (confirmed by lookup)` }, lookedUp: true };
    // Not sent after all: recorded as failed, so the next pass claims it afresh, at once.
    if (r === 'not-sent') return { outcome: { status: 'defer', until: now + 1000, reason: `${k.provider} confirms the earlier attempt did not send; sending again` }, lookedUp: true };
    return { outcome: r, lookedUp: true };
  };
}
