/**
 * The primary lead buyer: POST the lead as JSON to the buyer's webhook. Delivered means BOTH a
 * 2xx status AND a body that parses and says the lead was accepted (`{"accepted": true}`): a
 * buyer that answers 200 with garbage has not taken the lead. Every request carries an
 * Idempotency-Key (leadId + destination) so a redelivery after a rebalance is harmless, and is
 * signed per Standard Webhooks (standard-webhooks.ts) with the buyer's secret.
 * Answers are read up to MAX_ANSWER_BYTES: a buyer (or whoever answers at its address) cannot
 * make us buffer an unbounded body. Only short snippets of an answer go into an outcome, and
 * src/stages/outcomes.ts scrubs the lead's values from them.
 */
import { Agent, request } from 'undici';
import pLimit from 'p-limit';
import type { BuyerConfig } from '../../config.js';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import { outcomeForStatus, type DeliveryOutcome, type Sink } from '../sink.js';
import { standardWebhookHeaders } from './standard-webhooks.js';

/** A buyer's acknowledgement is a few hundred bytes; anything past this is not one. */
export const MAX_ANSWER_BYTES = 64 * 1024;
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
  const { delivery: _d, rejection: _r, deadLetter: _x, hops: _h, ...rest } = lead;
  return rest;
}

export function createWebhookSink(buyers: Record<string, WebhookBuyer>, now: () => number = Date.now): Sink {
  // connect timeout too: a dead host fails within the buyer's budget, not the OS's minutes.
  const timeout = Math.max(...Object.values(buyers).map((b) => b.timeoutMs), 1000);
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128, connect: { timeout } });
  const limits = new Map(Object.entries(buyers).map(([id, b]) => [id, pLimit(b.concurrency)]));

  async function deliverOne(lead: LeadEvent): Promise<DeliveryOutcome> {
    const destination = lead.delivery?.destination ?? '';
    const buyerId = destination.replace(/^primary:/, '');
    const buyer = buyers[buyerId];
    if (!buyer) return { status: 'dead', reason: `no buyer configured for destination "${destination}"` };
    const id = deliveryKey(lead.leadId, destination);
    const body = JSON.stringify(buyerPayload(lead));
    const signature = buyer.secret ? standardWebhookHeaders(buyer.secret, id, body, now()) : {};
    try {
      const res = await request(buyer.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'idempotency-key': id, ...buyer.headers, ...signature },
        body,
        headersTimeout: buyer.timeoutMs,
        bodyTimeout: buyer.timeoutMs,
        signal: AbortSignal.timeout(buyer.timeoutMs),
      });
      const answer = await readCapped(res.body, MAX_ANSWER_BYTES);
      if (answer === null) return { status: 'retry', error: `HTTP ${res.statusCode} with an answer over ${MAX_ANSWER_BYTES} bytes (not read)` };
      return validateBuyerAnswer(res.statusCode, answer);
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

/** The body as text, or null (and the rest left unread) past `max` bytes. */
export async function readCapped(body: AsyncIterable<unknown> & { destroy(): unknown }, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > max) {
      body.destroy();
      return null;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
