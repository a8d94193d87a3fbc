/**
 * The SMS channel for one provider (one topic and consumer group per provider). Composes the
 * first message, sends it through the provider's adapter with an idempotency key
 * (leadId + destination), and turns the adapter's answer into a delivery outcome.
 */
import pLimit from 'p-limit';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import type { DeliveryOutcome, Sink } from '../sink.js';
import type { SmsAdapter } from './adapters/adapter.js';

export interface SmsSinkOptions {
  provider: string;
  adapter: SmsAdapter;
  compose(lead: LeadEvent): string;
  /** Sends in flight per batch; the adapter paces below this with its own rate limit. */
  concurrency?: number;
}

export function createSmsSink(opts: SmsSinkOptions): Sink {
  const limit = pLimit(opts.concurrency ?? 32);
  const destination = `sms:${opts.provider}`;

  async function deliverOne(lead: LeadEvent): Promise<DeliveryOutcome> {
    const to = lead.enrichment?.phone.e164;
    if (!to) return { status: 'dead', reason: 'no E.164 phone to text' };
    const result = await opts.adapter.send({
      leadId: lead.leadId,
      to,
      body: opts.compose(lead),
      idempotencyKey: deliveryKey(lead.leadId, destination),
    });
    if (result.ok) return { status: 'delivered', detail: `${opts.provider} message ${result.providerMessageId}` };
    return result.retriable ? { status: 'retry', error: `${opts.provider}: ${result.error}` } : { status: 'dead', reason: `${opts.provider}: ${result.error}` };
  }

  return {
    kind: 'sms',
    deliver: (leads) => Promise.all(leads.map((lead) => limit(() => deliverOne(lead)))),
    close: () => opts.adapter.close(),
  };
}
