/**
 * The primary lead buyer as today's contract has it: POST the lead as JSON to the buyer's
 * webhook. Delivered means BOTH a 2xx status AND a body that parses and says the lead was accepted
 * (`{"accepted": true}`): a buyer that answers 200 with garbage has not taken the lead. Every
 * request carries an Idempotency-Key (leadId + destination) so a redelivery after a rebalance is
 * harmless, and is signed per Standard Webhooks with the buyer's secret; answers are read up to
 * MAX_ANSWER_BYTES (both in buyer-client.ts, which every request to a buyer goes through).
 * sink-primary itself runs the distribution sink (distribution-sink.ts), which reads replies per
 * buyer with its response mapping; this one-buyer sink stays for tools and tests of the contract.
 * Only short snippets of an answer go into an outcome, and src/stages/outcomes.ts scrubs the
 * lead's values from them.
 */
import pLimit from 'p-limit';
import type { BuyerConfig } from '../../config.js';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import { outcomeForStatus, type DeliveryOutcome, type Sink } from '../sink.js';
import { createBuyerClient, MAX_ANSWER_BYTES, readCapped } from './buyer-client.js';

export { MAX_ANSWER_BYTES, readCapped };
const SNIPPET = 80;

type WebhookBuyer = Pick<BuyerConfig, 'url' | 'timeoutMs' | 'concurrency' | 'headers'> & { secret?: string | undefined };

/** What a buyer's answer must look like. A rejection (accepted: false) is final. */
export function validateBuyerAnswer(status: number, body: string): DeliveryOutcome {
  const byStatus = outcomeForStatus(status, body.slice(0, SNIPPET));
  if (byStatus.status !== 'delivered') return byStatus;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { status: 'retry', error: `HTTP ${status} with a body that is not JSON: ${JSON.stringify(body.slice(0, SNIPPET))}` };
  }
  if (!parsed || typeof parsed !== 'object') return { status: 'retry', error: `HTTP ${status} with a body that is not an object` };
  const answer = parsed as { accepted?: unknown; reason?: unknown; id?: unknown };
  if (answer.accepted === true) return { status: 'delivered', detail: typeof answer.id === 'string' ? `buyer id ${answer.id}` : 'accepted' };
  if (answer.accepted === false) return { status: 'dead', reason: `buyer rejected the lead: ${String(answer.reason ?? 'no reason given').slice(0, SNIPPET)}` };
  return { status: 'retry', error: `HTTP ${status} but the body does not say accepted: ${body.slice(0, SNIPPET)}` };
}

/** The body a buyer receives: the lead and its enrichment, without routing internals. */
export function buyerPayload(lead: LeadEvent): Record<string, unknown> {
  // Routing internals stay here: other buyers' bids, prices and reasons are not this buyer's business.
  const { delivery: _d, rejection: _r, deadLetter: _x, hops: _h, distribution: _dist, ...rest } = lead;
  return rest;
}

export function createWebhookSink(buyers: Record<string, WebhookBuyer>, now: () => number = Date.now): Sink {
  const client = createBuyerClient({ connectTimeoutMs: Math.max(...Object.values(buyers).map((b) => b.timeoutMs), 1000), now });
  const limits = new Map(Object.entries(buyers).map(([id, b]) => [id, pLimit(b.concurrency)]));

  async function deliverOne(lead: LeadEvent): Promise<DeliveryOutcome> {
    const destination = lead.delivery?.destination ?? '';
    const buyerId = destination.replace(/^primary:/, '');
    const buyer = buyers[buyerId];
    if (!buyer) return { status: 'dead', reason: `no buyer configured for destination "${destination}"` };
    const reply = await client.post(buyer, deliveryKey(lead.leadId, destination), JSON.stringify(buyerPayload(lead)));
    if (!reply.ok) return { status: 'retry', error: reply.kind === 'too-large' ? reply.detail : `${buyerId}: ${reply.detail}` };
    return validateBuyerAnswer(reply.status, reply.body);
  }

  return {
    kind: 'primary',
    deliver: (leads) =>
      Promise.all(
        leads.map((lead) => {
          const limit = limits.get((lead.delivery?.destination ?? '').replace(/^primary:/, ''));
          return limit ? limit(() => deliverOne(lead)) : deliverOne(lead);
        }),
      ),
    close: () => client.close(),
  };
}
