/**
 * The HTTP front door as a fastify plugin. Everything it needs is injected (publisher, history,
 * readiness probe), so route tests run through `app.inject()` with no broker.
 *
 *   POST /v1/leads          202 {leadId} once Kafka acknowledged the lead (acks=all)
 *   GET  /v1/leads/:leadId  the lead's history (every hop)
 *   GET  /healthz           the process is up
 *   GET  /readyz            Kafka and the schema registry answer
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import type { LeadEvent, LeadInput } from '../lead.js';
import type { LeadPublisher } from '../producers/lead-batcher.js';
import type { StoredEvent } from '../history/store.js';
import { leadBodySchema } from './lead-schema.js';
import { VendorLeadDedup } from './dedup.js';

export interface IngestDeps {
  publisher: LeadPublisher;
  /** Reads a lead's events from the history store (written by the sink-history group). */
  history: { forLead(leadId: string): Promise<StoredEvent[]> } | null;
  dedup: VendorLeadDedup;
  /** Resolves to a list of problems; empty means ready. */
  readiness(): Promise<string[]>;
  now?: () => number;
}

type LeadBody = Omit<LeadInput, 'country'> & { country: 'US' | 'GB' | 'UK' };

export const ingestPlugin: FastifyPluginAsync<IngestDeps> = async (app: FastifyInstance, deps: IngestDeps) => {
  const now = deps.now ?? Date.now;

  app.post<{ Body: LeadBody }>(
    '/v1/leads',
    {
      schema: {
        body: leadBodySchema,
        response: { 202: { type: 'object', properties: { leadId: { type: 'string' }, duplicate: { type: 'boolean' } } } },
      },
    },
    async (req, reply) => {
      const body = req.body;
      const { leadId, duplicate } = await deps.dedup.once(body.vendor, body.vendorLeadId, async () => {
        const event = toLeadEvent(body, uuidv7(), now());
        await deps.publisher.publish(event); // with its "received" event, in the same request
        return event.leadId;
      });
      return reply.code(202).send({ leadId, duplicate });
    },
  );

  app.get<{ Params: { leadId: string } }>('/v1/leads/:leadId', async (req, reply) => {
    if (!deps.history) return reply.code(503).send({ error: 'history_unavailable', message: 'lead history is not configured' });
    const stored = await deps.history.forLead(req.params.leadId);
    if (stored.length === 0) return reply.code(404).send({ error: 'not_found', message: `no lead ${req.params.leadId}` });
    return historyView(req.params.leadId, stored);
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const problems = await deps.readiness();
    return reply.code(problems.length === 0 ? 200 : 503).send({ ready: problems.length === 0, problems });
  });
};

/** A lead's history for people: every hop in order, ISO times, and the gap since the previous hop. */
export function historyView(leadId: string, stored: StoredEvent[]) {
  const received = stored.find((e) => e.type === 'received');
  let previous: number | null = null;
  const events = stored.map((e) => {
    const at = e.at.getTime();
    const gapMs = previous === null ? null : at - previous;
    previous = at;
    return {
      eventId: e._id,
      type: e.type,
      at: e.at.toISOString(),
      gapMs,
      stage: e.stage,
      ...(e.destination ? { destination: e.destination } : {}),
      ...(e.attempt !== null ? { attempt: e.attempt } : {}),
      ...(e.detail ? { detail: e.detail } : {}),
    };
  });
  return { leadId, ...(received ? { receivedAt: received.at.toISOString(), ...received.fields } : {}), events };
}

export function toLeadEvent(body: LeadBody, leadId: string, receivedAt: number): LeadEvent {
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
    vendor: body.vendor,
    vendorLeadId: body.vendorLeadId ?? null,
    consent: {
      sms: body.consent.sms,
      email: body.consent.email ?? null,
      at: body.consent.at,
      text: body.consent.text ?? null,
      ip: body.consent.ip ?? null,
    },
    enrichment: null,
    delivery: null,
    rejection: null,
    deadLetter: null,
  };
}
