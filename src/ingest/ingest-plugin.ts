/**
 * The HTTP front door as a fastify plugin. Everything it needs is injected (publisher, history,
 * keyring, readiness probe), so route tests run through `app.inject()` with no broker.
 *
 *   POST /v1/leads          vendor key   202 {leadId} once Kafka acknowledged the lead (acks=all)
 *   GET  /v1/leads/:leadId  operator, or the lead's own vendor (masked)   the lead's history
 *   GET  /healthz           public       the process is up
 *   GET  /readyz            public       ready or not; the problems only for an operator token
 *
 * Per request, in this order (each step cheaper than the next, nothing parsed before it may be):
 * credential (onRequest: 401/403) → rate limit per principal (429 + Retry-After) → overload
 * (preParsing: 503 + Retry-After) → body validation (400/413/415) → publish.
 * The lead's `vendor` is the key's vendor, never the body's: a body `vendor` is accepted and
 * ignored (vendors that always sent one keep working), so no one can post as someone else, and
 * vendorLeadId dedup is per authenticated vendor: another vendor's ids are out of reach.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { v7 as uuidv7 } from 'uuid';
import type { LeadEvent } from '../lead.js';
import type { LeadPublisher } from '../producers/lead-batcher.js';
import type { StoredEvent } from '../history/store.js';
import type { Keyring } from '../security/keyring.js';
import { authenticate, requireAuth } from './auth.js';
import { VendorLeadDedup } from './dedup.js';
import { historyView, vendorOf } from './history-view.js';
import { leadBodySchema } from './lead-schema.js';
import type { MoneyDeps } from './money-plugin.js';
import { EITHER_SECURITY, errorResponses, historyBody, OPTIONAL_OPERATOR, VENDOR_SECURITY } from './openapi.js';

export interface IngestDeps {
  publisher: LeadPublisher;
  /** Reads a lead's events from the history store (written by the sink-history group). */
  history: { forLead(leadId: string): Promise<StoredEvent[]> } | null;
  dedup: VendorLeadDedup;
  keyring: Keyring;
  /** Resolves to a list of problems; empty means ready. */
  readiness(): Promise<string[]>;
  now?: () => number;
  /** Lead returns and the revenue report (money-plugin.ts); absent: those routes are not served. */
  money?: MoneyDeps;
}

/** The body as validated: derived from the JSON schema itself (json-schema-to-ts), never hand-typed. */
export type LeadBody = FromSchema<typeof leadBodySchema>;

const accepted = {
  description: 'Accepted: durably in Kafka. A repeated vendorLeadId returns the original leadId with duplicate: true.',
  type: 'object',
  required: ['leadId', 'duplicate'],
  properties: { leadId: { type: 'string', format: 'uuid' }, duplicate: { type: 'boolean' } },
} as const;
const readiness = {
  type: 'object',
  required: ['ready'],
  properties: { ready: { type: 'boolean' }, problems: { type: 'array', items: { type: 'string' } } },
} as const;

const readyzResponses: Record<number, unknown> = { 200: readiness, 503: { description: 'Not ready.', ...readiness }, ...errorResponses(403) };

export const ingestPlugin: FastifyPluginAsync<IngestDeps> = async (app: FastifyInstance, deps: IngestDeps) => {
  const now = deps.now ?? Date.now;

  /** Before the body is read: Kafka is not keeping up, so do not take (or parse) more. */
  const shed = async (_req: FastifyRequest, reply: FastifyReply) => {
    const over = deps.publisher.overload?.();
    if (over) return reply.code(503).header('retry-after', String(over.retryAfterS)).send({ error: 'overloaded', message: 'lead not accepted: ingest is overloaded, retry later' });
  };

  app.post<{ Body: LeadBody }>(
    '/v1/leads',
    {
      onRequest: requireAuth(deps.keyring, 'vendor'),
      preParsing: shed,
      config: { rateLimit: {} },
      schema: {
        summary: 'Submit a lead',
        security: VENDOR_SECURITY,
        body: leadBodySchema,
        response: { 202: accepted, ...errorResponses(400, 401, 403, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      const principal = req.principal;
      if (principal?.kind !== 'vendor') return reply.code(403).send({ error: 'forbidden', message: 'leads are posted with a vendor key' });
      const body = req.body;
      const { leadId, duplicate } = await deps.dedup.once(principal.vendor, body.vendorLeadId, async () => {
        const event = toLeadEvent(body, principal.vendor, uuidv7(), now());
        await deps.publisher.publish(event); // with its "received" event, in the same request
        return event.leadId;
      });
      return reply.code(202).send({ leadId, duplicate });
    },
  );

  app.get<{ Params: { leadId: string } }>(
    '/v1/leads/:leadId',
    {
      onRequest: requireAuth(deps.keyring, 'vendor-or-operator'),
      config: { rateLimit: {} },
      schema: {
        summary: 'A lead\'s history: every hop',
        security: EITHER_SECURITY,
        params: { type: 'object', required: ['leadId'], properties: { leadId: { type: 'string', format: 'uuid', maxLength: 36 } } },
        response: { 200: { description: 'The history; masked for a vendor.', ...historyBody }, ...errorResponses(400, 401, 403, 404, 414, 429, 503) },
      },
    },
    async (req, reply) => {
      if (!deps.history) return reply.code(503).header('retry-after', '5').send({ error: 'history_unavailable', message: 'lead history is not configured' });
      const stored = await deps.history.forLead(req.params.leadId);
      const principal = req.principal;
      // Not found and not yours answer alike: a vendor cannot probe for other vendors' lead ids.
      const notFound = () => reply.code(404).send({ error: 'not_found', message: `no lead ${req.params.leadId}` });
      if (stored.length === 0) return notFound();
      if (principal?.kind === 'vendor') {
        if (vendorOf(stored) !== principal.vendor) return notFound();
        return historyView(req.params.leadId, stored, { masked: true });
      }
      return historyView(req.params.leadId, stored);
    },
  );

  app.get('/healthz', { schema: { summary: 'Liveness', security: [], response: { 200: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } } } } }, async () => ({ ok: true }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: Kafka and the schema registry answer (problems listed for an operator token)',
        security: OPTIONAL_OPERATOR,
        response: readyzResponses,
      },
    },
    async (req, reply) => {
      // Load balancers probe without credentials and get ready or not; the reasons name internal
      // hosts and errors, so only an operator reads them.
      const operator = req.headers.authorization !== undefined ? authenticate(deps.keyring, 'operator', req) : null;
      if (operator && !operator.ok) return reply.code(403).send({ error: 'forbidden', message: 'operator token not recognised' });
      const problems = await deps.readiness();
      const ready = problems.length === 0;
      return reply.code(ready ? 200 : 503).send({ ready, ...(operator?.ok ? { problems } : {}) });
    },
  );
};

export function toLeadEvent(body: LeadBody, vendor: string, leadId: string, receivedAt: number): LeadEvent {
  return {
    leadId,
    receivedAt,
    hops: ['ingest'],
    firstName: body.firstName,
    lastName: body.lastName,
    email: body.email,
    phone: body.phone,
    zip: body.zip ?? null,
    postcode: body.postcode ?? null,
    country: body.country === 'UK' ? 'GB' : body.country,
    jobTitle: body.jobTitle,
    source: body.source,
    vendor,
    vendorLeadId: body.vendorLeadId ?? null,
    consent: {
      sms: body.consent.sms,
      email: body.consent.email ?? null,
      at: body.consent.at,
      text: body.consent.text ?? null,
      ip: body.consent.ip ?? null,
      certificateUrl: body.consent.certificateUrl ?? null,
    },
    enrichment: null,
    delivery: null,
    rejection: null,
    deadLetter: null,
  };
}
