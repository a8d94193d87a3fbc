/**
 * Returns and revenue over HTTP.
 *
 *   POST /v1/leads/:leadId/returns   a buyer key (lrb_…, the buyer returns its own purchase) or the
 *                                    operator token (naming the buyer): { reason } → the sale is
 *                                    credited back once, and when the group sells returned leads
 *                                    again (redistributeOnReturn) the lead goes back onto
 *                                    leads.primary for the next eligible buyer.
 *   GET  /v1/reports/revenue         operator: sold, gross, returned, credited and net by buyer,
 *                                    vendor, source or rule since a time (the CLI's report).
 *
 * A return is answered only after its records are in Kafka (acks=all): the history event, and
 * the lead for redistribution. The credit is an insert under a unique id: asking twice credits
 * once (the second answer says duplicate). Not found and not yours answer alike (404).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Output } from '../kafka/stage-contract.js';
import { eventOutputs } from '../history/events.js';
import type { LeadEvent } from '../lead.js';
import type { Keyring } from '../security/keyring.js';
import { REVENUE_DIMENSIONS, type Ledger, type RevenueDimension } from '../sinks/primary/ledger.js';
import { requireAuth } from './auth.js';
import { errorResponses, OPERATOR_SECURITY } from './openapi.js';

export interface MoneyDeps {
  ledger(): Promise<Ledger>;
  /** Produces with acks=all; throws when Kafka did not acknowledge (the caller gets 503). */
  publish(outputs: Output[]): Promise<void>;
  topics: { primary: string; events: string };
  keyring: Keyring;
  now?: () => number;
}

const REASON = '^[a-z0-9][a-z0-9_-]{0,39}$';
const returnBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: {
    reason: { type: 'string', maxLength: 40, pattern: REASON, description: 'Reason code, e.g. duplicate, wrong_number, not_interested, fraud.' },
    buyer: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._-]+$', description: 'Operators: the buyer returning the lead (a buyer key names its own).' },
  },
} as const;
const returned = {
  type: 'object',
  required: ['leadId', 'buyer', 'credited', 'redistributed', 'duplicate'],
  properties: {
    leadId: { type: 'string' },
    buyer: { type: 'string' },
    credited: { type: ['number', 'null'], description: 'What the buyer paid and is credited back (null: the sale had no price).' },
    redistributed: { type: 'boolean', description: 'The lead went back to distribution for the next eligible buyer.' },
    duplicate: { type: 'boolean', description: 'This sale had already been returned: nothing more was done.' },
  },
} as const;
const revenueRow = {
  type: 'object',
  required: ['key', 'sold', 'gross', 'returned', 'credited', 'net'],
  properties: { key: { type: 'string' }, sold: { type: 'integer' }, gross: { type: 'number' }, returned: { type: 'integer' }, credited: { type: 'number' }, net: { type: 'number' } },
} as const;

export const moneyPlugin: FastifyPluginAsync<MoneyDeps> = async (app: FastifyInstance, deps: MoneyDeps) => {
  const now = deps.now ?? Date.now;

  app.post<{ Params: { leadId: string }; Body: { reason: string; buyer?: string } }>(
    '/v1/leads/:leadId/returns',
    {
      onRequest: requireAuth(deps.keyring, 'buyer-or-operator'),
      config: { rateLimit: {} },
      schema: {
        summary: 'Return a lead a buyer bought: credited back, redistributed when its group says so',
        security: [{ buyerKey: [] }, { operatorToken: [] }],
        params: { type: 'object', required: ['leadId'], properties: { leadId: { type: 'string', format: 'uuid', maxLength: 36 } } },
        body: returnBody,
        response: { 200: returned, ...errorResponses(400, 401, 403, 404, 409, 414, 429, 503) },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      const buyer = p?.kind === 'buyer' ? p.buyer : req.body.buyer;
      if (p?.kind === 'buyer' && req.body.buyer !== undefined && req.body.buyer !== p.buyer) return reply.code(403).send({ error: 'forbidden', message: 'a buyer returns only its own leads' });
      if (!buyer) return reply.code(400).send({ error: 'invalid_request', message: 'name the buyer returning the lead', field: 'buyer' });
      const { leadId } = req.params;
      const ledger = await deps.ledger();
      const sale = await ledger.sale(leadId, buyer);
      if (!sale) return reply.code(404).send({ error: 'not_found', message: `no sale of lead ${leadId} to ${buyer}` });
      const credited = sale.amount;
      const already = await ledger.credit(leadId, buyer);
      if (already) return { leadId, buyer, credited, redistributed: false, duplicate: true };
      const at = now();
      if (sale.returnableUntil && at > sale.returnableUntil.getTime()) {
        return reply.code(409).send({ error: 'return_window_closed', message: `returns of this sale closed at ${sale.returnableUntil.toISOString()}` });
      }
      const reason = req.body.reason;
      const lead = sale.redistributeOnReturn ? await ledger.soldLead(leadId) : null;
      const again = lead?.distribution ? returnedLead(lead, buyer, reason, credited, sale.rule, at) : null;
      const detail = `reason ${reason}; credited ${credited ?? 'nothing (no price)'}${again ? '; redistributed' : sale.redistributeOnReturn ? '; not redistributed (the lead is no longer kept)' : ''}`;
      const outputs: Output[] = eventOutputs(deps.topics.events, [{ leadId, type: 'returned', at, stage: 'ingest', destination: `primary:${buyer}`, detail }]);
      if (again) outputs.push({ topic: deps.topics.primary, key: leadId, value: again });
      await deps.publish(outputs); // before the credit: a failure here is retried by the buyer, and nothing is half done
      const first = await ledger.recordCredit({ ...sale, _id: `${leadId}:${buyer}:return`, kind: 'credit', amount: credited === null ? null : -credited, at: new Date(at), reason });
      if (again && first) await ledger.keepSoldLeads([{ lead: again, until: sale.returnableUntil ?? new Date(at) }]);
      return { leadId, buyer, credited, redistributed: again !== null && first, duplicate: !first };
    },
  );

  app.get<{ Querystring: { by: RevenueDimension; since: string; until?: string } }>(
    '/v1/reports/revenue',
    {
      onRequest: requireAuth(deps.keyring, 'operator'),
      config: { rateLimit: {} },
      schema: {
        summary: 'Revenue by buyer, vendor, source or rule: sold, gross, returned, credited, net',
        security: OPERATOR_SECURITY,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['by', 'since'],
          properties: { by: { type: 'string', enum: [...REVENUE_DIMENSIONS] }, since: { type: 'string', format: 'date-time', maxLength: 64 }, until: { type: 'string', format: 'date-time', maxLength: 64 } },
        },
        response: { 200: { type: 'object', required: ['by', 'since', 'rows'], properties: { by: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, rows: { type: 'array', items: revenueRow } } }, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (req) => {
      const { by, since, until } = req.query;
      const rows = await (await deps.ledger()).revenue(by, new Date(since), until ? new Date(until) : undefined);
      return { by, since: new Date(since).toISOString(), ...(until ? { until: new Date(until).toISOString() } : {}), rows };
    },
  );
};

/** The lead as it goes back to distribution: the return recorded, the group planned again. */
export function returnedLead(lead: LeadEvent, buyer: string, reason: string, credited: number | null, rule: string, at: number): LeadEvent {
  const state = lead.distribution!;
  return {
    ...lead,
    distribution: { ...state, status: 'returned', attempts: [...state.attempts, { buyer, at, outcome: 'returned', reason, buyerLeadId: null, price: credited === null ? null : -credited }] },
    delivery: { destination: `primary:${state.target}`, rule, attempt: 0, firstAttemptAt: at, nextAttemptAt: null, lastError: null, fallbacks: [] },
    rejection: null,
    deadLetter: null,
  };
}
