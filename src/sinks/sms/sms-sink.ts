/**
 * The SMS channel for one provider (one topic and consumer group per provider). For each lead,
 * in this order, because each check is cheaper and more final than the next:
 *   1. no E.164 phone            → dead
 *   2. opted out (leads.optouts) → skipped (suppressed): never a text after STOP
 *   3. this lead already texted  → delivered (a redelivery; the record says by whom)
 *   4. phone texted recently     → skipped (duplicate of that lead), within the dedup window
 *   5. outside quiet hours       → defer until the local window opens
 *   6. circuit open              → fallback to the next provider (or retry later)
 *   7. send with an idempotency key (leadId + destination); ok → delivered and remembered;
 *      failure → next provider in the lead's list, else retry later / dead if not retriable.
 */
import pLimit from 'p-limit';
import { deliveryKey, marketOf, type LeadEvent } from '../../lead.js';
import type { DeliveryOutcome, Sink } from '../sink.js';
import type { SmsAdapter } from './adapters/adapter.js';
import type { ProviderCircuit } from './breaker.js';
import { checkQuietHours, type QuietWindows } from './quiet-hours.js';
import type { SentStore, SentText } from './sent-store.js';

export interface SmsSinkOptions {
  provider: string;
  adapter: SmsAdapter;
  compose(lead: LeadEvent): string;
  optOuts: { isOptedOut(phone: string): boolean };
  sent: SentStore;
  circuit: ProviderCircuit;
  quietHours: QuietWindows;
  dedupWindowMs: number;
  now: () => number;
  /** Where the provider should POST delivery receipts, if we have a public URL. */
  statusCallbackUrl?: string;
  concurrency?: number;
}

export function createSmsSink(opts: SmsSinkOptions): Sink {
  const limit = pLimit(opts.concurrency ?? 32);
  const destination = `sms:${opts.provider}`;

  async function send(lead: LeadEvent, to: string): Promise<{ outcome: DeliveryOutcome; sent?: SentText }> {
    const fallback = lead.delivery?.fallbacks[0];
    if (!opts.circuit.allows()) {
      const error = `${opts.provider}: circuit open (provider keeps failing)`;
      return { outcome: fallback ? { status: 'fallback', error, next: fallback } : { status: 'retry', error } };
    }
    const result = await opts.adapter.send({
      leadId: lead.leadId,
      to,
      body: opts.compose(lead),
      idempotencyKey: deliveryKey(lead.leadId, destination),
      ...(opts.statusCallbackUrl ? { statusCallbackUrl: opts.statusCallbackUrl } : {}),
    });
    if (result.ok) {
      opts.circuit.success();
      return {
        outcome: { status: 'delivered', detail: `${opts.provider} message ${result.providerMessageId}` },
        sent: { _id: lead.leadId, phone: to, provider: opts.provider, providerMessageId: result.providerMessageId, sentAt: opts.now() },
      };
    }
    const error = `${opts.provider}: ${result.error}`;
    if (!result.retriable) return { outcome: { status: 'dead', reason: error } };
    opts.circuit.failure();
    return { outcome: fallback ? { status: 'fallback', error, next: fallback } : { status: 'retry', error } };
  }

  async function deliver(leads: LeadEvent[]): Promise<DeliveryOutcome[]> {
    const now = opts.now();
    const phones = leads.map((l) => l.enrichment?.phone.e164 ?? null);
    const [alreadySent, recent] = await Promise.all([
      opts.sent.sentLeads(leads.map((l) => l.leadId)),
      opts.sent.recentByPhone(phones.filter((p): p is string => p !== null), now - opts.dedupWindowMs),
    ]);
    // Leads of this batch claim their phone in order, so two leads for one person in one batch
    // are also caught (SMS topics are keyed by phone: one person's leads share a partition).
    const claimed = new Map<string, string>();
    const outcomes: (DeliveryOutcome | Promise<{ outcome: DeliveryOutcome; sent?: SentText }>)[] = leads.map((lead, i) => {
      const to = phones[i];
      if (!to) return { status: 'dead', reason: 'no E.164 phone to text' };
      if (opts.optOuts.isOptedOut(to)) return { status: 'skipped', as: 'suppressed', reason: `${to.slice(0, -4)}**** opted out` };
      const before = alreadySent.get(lead.leadId);
      if (before) return { status: 'delivered', detail: `already texted by ${before.provider} (message ${before.providerMessageId})` };
      const earlier = recent.get(to)?._id ?? claimed.get(to);
      if (earlier && earlier !== lead.leadId) return { status: 'skipped', as: 'duplicate', reason: `duplicate of lead ${earlier}: phone texted within the dedup window` };
      const quiet = checkQuietHours({ now: new Date(now), zone: lead.enrichment?.timezone.zone ?? null, market: marketOf(lead), windows: opts.quietHours });
      if (!quiet.allowed) return { status: 'defer', until: quiet.releaseAt.getTime(), reason: quiet.reason };
      claimed.set(to, lead.leadId);
      return limit(() => send(lead, to));
    });
    const settled: { outcome: DeliveryOutcome; sent?: SentText }[] = await Promise.all(outcomes.map((o) => ('then' in o ? o : { outcome: o })));
    await opts.sent.record(settled.flatMap((s) => (s.sent ? [s.sent] : [])));
    return settled.map((s) => s.outcome);
  }

  return { kind: 'sms', deliver, close: () => opts.adapter.close() };
}
