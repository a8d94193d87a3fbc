/**
 * The primary lead buyer: POST the lead as JSON to the buyer's webhook. Delivered means BOTH a
 * 2xx status AND a body that parses and says the lead was accepted (`{"accepted": true}`): a
 * buyer that answers 200 with garbage has not taken the lead. Every request carries an
 * Idempotency-Key (leadId + destination) so a redelivery after a rebalance is harmless.
 */
import { Agent, request } from 'undici';
import pLimit from 'p-limit';
import type { BuyerConfig } from '../../config.js';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import { outcomeForStatus, type DeliveryOutcome, type Sink } from '../sink.js';

/** What a buyer's answer must look like. A rejection (accepted: false) is final. */
export function validateBuyerAnswer(status: number, body: string): DeliveryOutcome {
  const byStatus = outcomeForStatus(status, body.slice(0, 200));
  if (byStatus.status !== 'delivered') return byStatus;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { status: 'retry', error: `HTTP ${status} with a body that is not JSON: ${JSON.stringify(body.slice(0, 80))}` };
  }
  if (!parsed || typeof parsed !== 'object') return { status: 'retry', error: `HTTP ${status} with a body that is not an object` };
  const answer = parsed as { accepted?: unknown; reason?: unknown; id?: unknown };
  if (answer.accepted === true) return { status: 'delivered', detail: typeof answer.id === 'string' ? `buyer id ${answer.id}` : 'accepted' };
  if (answer.accepted === false) return { status: 'dead', reason: `buyer rejected the lead: ${String(answer.reason ?? 'no reason given')}` };
  return { status: 'retry', error: `HTTP ${status} but the body does not say accepted: ${body.slice(0, 120)}` };
}

/** The body a buyer receives: the lead and its enrichment, without routing internals. */
export function buyerPayload(lead: LeadEvent): Record<string, unknown> {
  const { delivery: _d, rejection: _r, deadLetter: _x, hops: _h, ...rest } = lead;
  return rest;
}

export function createWebhookSink(buyers: Record<string, BuyerConfig>): Sink {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
  const limits = new Map(Object.entries(buyers).map(([id, b]) => [id, pLimit(b.concurrency)]));

  async function deliverOne(lead: LeadEvent): Promise<DeliveryOutcome> {
    const destination = lead.delivery?.destination ?? '';
    const buyerId = destination.replace(/^primary:/, '');
    const buyer = buyers[buyerId];
    if (!buyer) return { status: 'dead', reason: `no buyer configured for destination "${destination}"` };
    try {
      const res = await request(buyer.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': deliveryKey(lead.leadId, destination), ...buyer.headers },
        body: JSON.stringify(buyerPayload(lead)),
        headersTimeout: buyer.timeoutMs,
        bodyTimeout: buyer.timeoutMs,
        signal: AbortSignal.timeout(buyer.timeoutMs),
      });
      const body = await res.body.text();
      return validateBuyerAnswer(res.statusCode, body);
    } catch (err) {
      return { status: 'retry', error: `${buyerId}: ${(err as Error).message || (err as Error).name}` };
    }
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
    close: () => agent.close(),
  };
}
