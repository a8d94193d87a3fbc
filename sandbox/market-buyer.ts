/**
 * Sandbox buyers as lead buyers really answer: each in its own format, with a ping endpoint for
 * auctions, and a decision tests can change while the router runs. Built on fault-server.ts, so
 * every fault mode (error500, slow, down, refuse...) works on them too.
 *
 *   POST /leads   the full lead. Formats (what the buyer's `response` mapping must read):
 *     json   {"status":"accepted","lead_id":"mk-1","price":"12.50"} | {"status":"rejected","reason":"duplicate"}
 *     text   SUCCESS|lead_id=mk-1|price=12.50                       | FAILURE|reason=duplicate
 *     xml    <response><status>Accepted</status><lead id="mk-1"/><price>12.50</price></response>
 *            | <response><status>Rejected</status><reason>duplicate</reason></response>
 *   POST /ping    the anonymised lead: {"bid": 12.5} after `bidDelayMs`, or {"bid": 0}.
 *   GET  /_sandbox/market   what it bought and what it was pinged: { accepted: [leadId], pings: n }
 *
 * A careful buyer: the same Idempotency-Key gets the same answer (a redelivery is not a second
 * lead), and a signed buyer (secret) refuses a request whose Standard Webhooks signature fails.
 */
import { Webhook } from 'standardwebhooks';
import { startFaultServer, type FaultServer } from './fault-server.js';

export type BuyerFormat = 'json' | 'text' | 'xml';

export interface MarketBehaviour {
  decision: 'accept' | 'reject';
  /** The reason given when rejecting. */
  reason: string;
  /** Price stated in the accept reply; null: none stated. */
  price: number | null;
  /** Auction bid; 0 or null: no bid. */
  bid: number | null;
  bidDelayMs: number;
  /** Takes at most this many leads (answers "rejected: cap reached" past it); null: no limit. */
  accepts: number | null;
}

export interface MarketBuyer extends FaultServer {
  behaviour: MarketBehaviour;
  set(b: Partial<MarketBehaviour>): void;
  /** Lead ids it accepted, in order, each once. */
  accepted: string[];
  pings: { leadId: string; at: number; body: Record<string, unknown> }[];
}

export async function startMarketBuyer(opts: { name: string; port?: number; format?: BuyerFormat; secret?: string; behaviour?: Partial<MarketBehaviour> }): Promise<MarketBuyer> {
  const format = opts.format ?? 'json';
  const verifier = opts.secret ? new Webhook(opts.secret) : null;
  const behaviour: MarketBehaviour = { decision: 'accept', reason: 'duplicate', price: null, bid: null, bidDelayMs: 0, accepts: null, ...opts.behaviour };
  const answers = new Map<string, { status: number; body: string }>();
  const accepted: string[] = [];
  const pings: MarketBuyer['pings'] = [];
  let counter = 0;

  const render = (ok: boolean, id: string, reason: string): string => {
    const price = behaviour.price === null ? null : behaviour.price.toFixed(2);
    if (format === 'text') return ok ? `SUCCESS|lead_id=${id}${price ? `|price=${price}` : ''}` : `FAILURE|reason=${reason}`;
    if (format === 'xml') {
      return ok
        ? `<?xml version="1.0"?><response><status>Accepted</status><lead id="${id}"/>${price ? `<price>${price}</price>` : ''}</response>`
        : `<?xml version="1.0"?><response><status>Rejected</status><reason>${reason}</reason></response>`;
    }
    return JSON.stringify(ok ? { status: 'accepted', lead_id: id, ...(price ? { price } : {}) } : { status: 'rejected', reason });
  };
  const contentType = format === 'json' ? 'application/json' : format === 'xml' ? 'application/xml' : 'text/plain';

  const server = await startFaultServer({
    name: opts.name,
    port: opts.port ?? 0,
    malformedBody: '<html>502 Bad Gateway</html>',
    control: { '/_sandbox/market': () => ({ accepted, pings: pings.length }) },
    handler: async ({ method, path, headers, body }) => {
      if (method !== 'POST' || (path !== '/leads' && path !== '/ping')) return { status: 404, body: '{"error":"not found"}' };
      if (verifier) {
        try {
          verifier.verify(body, headers as Record<string, string>);
        } catch {
          return { status: 401, body: '{"error":"bad webhook signature"}' };
        }
      }
      const lead = JSON.parse(body) as { leadId?: string };
      const leadId = lead.leadId ?? null;
      if (path === '/ping') {
        pings.push({ leadId: leadId ?? '', at: Date.now(), body: lead as Record<string, unknown> });
        if (behaviour.bidDelayMs > 0) await new Promise((r) => setTimeout(r, behaviour.bidDelayMs));
        return { status: 200, body: JSON.stringify({ bid: behaviour.bid ?? 0 }), leadId };
      }
      const key = String(headers['idempotency-key'] ?? leadId);
      const known = answers.get(key);
      if (known) return { ...known, contentType, leadId, replayed: true };
      const full = behaviour.accepts !== null && accepted.length >= behaviour.accepts;
      const ok = behaviour.decision === 'accept' && !full;
      const answer = { status: 200, body: render(ok, `${opts.name}-${++counter}`, full ? 'cap reached' : behaviour.reason) };
      answers.set(key, answer);
      if (ok && leadId) accepted.push(leadId);
      return { ...answer, contentType, leadId };
    },
  });
  return Object.assign(server, {
    behaviour,
    set: (b: Partial<MarketBehaviour>) => void Object.assign(behaviour, b),
    accepted,
    pings,
  });
}

/** The `response` mapping that reads a sandbox market buyer's format (what ops write in router.yaml). */
export function marketResponseMapping(format: BuyerFormat): Record<string, unknown> {
  if (format === 'text') return { accepted: { regex: '^SUCCESS' }, rejected: { regex: '^FAILURE' }, reason: { regex: 'reason=([^|]+)' }, leadId: { regex: 'lead_id=([^|]+)' }, price: { regex: 'price=([0-9.]+)' } };
  if (format === 'xml') return { accepted: { xml: 'response.status', equals: 'Accepted' }, reason: { xml: 'response.reason' }, leadId: { xml: 'response.lead.@id' }, price: { xml: 'response.price' } };
  return { accepted: { json: 'status', equals: 'accepted' }, reason: { json: 'reason' }, leadId: { json: 'lead_id' }, price: { json: 'price' } };
}
