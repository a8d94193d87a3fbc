/**
 * The search index: one bulk request per batch, document id = leadId, so a redelivery
 * overwrites the same document instead of adding a second one. Outcomes are per item from the
 * bulk response: one bad document does not fail its neighbours.
 */
import { Client } from '@elastic/elasticsearch';
import type { LeadEvent } from '../../lead.js';
import type { DeliveryOutcome, Sink } from '../sink.js';

/** The indexed document: searchable fields flattened, personal data kept as in the lead. */
export function searchDocument(lead: LeadEvent, now: number): Record<string, unknown> {
  const e = lead.enrichment;
  return {
    leadId: lead.leadId,
    receivedAt: lead.receivedAt,
    indexedAt: now,
    firstName: e?.name.first ?? lead.firstName,
    lastName: e?.name.last ?? lead.lastName,
    email: e?.email.address ?? lead.email,
    emailStatus: e?.email.status ?? null,
    phone: e?.phone.e164 ?? lead.phone,
    phoneType: e?.phone.type ?? null,
    country: lead.country,
    zip: lead.zip ?? null,
    postcode: lead.postcode ?? null,
    state: e?.timezone.state ?? null,
    city: e?.timezone.city ?? null,
    timezone: e?.timezone.zone ?? null,
    jobTitle: lead.jobTitle,
    jobTitleCanonical: e?.jobTitle.canonical ?? null,
    jobCategory: e?.jobTitle.category ?? null,
    source: lead.source,
    vendor: lead.vendor,
    smsConsent: lead.consent.sms,
  };
}

export const SEARCH_MAPPINGS = {
  properties: {
    leadId: { type: 'keyword' },
    receivedAt: { type: 'date', format: 'epoch_millis' },
    indexedAt: { type: 'date', format: 'epoch_millis' },
    email: { type: 'keyword' },
    emailStatus: { type: 'keyword' },
    phone: { type: 'keyword' },
    phoneType: { type: 'keyword' },
    country: { type: 'keyword' },
    zip: { type: 'keyword' },
    postcode: { type: 'keyword' },
    state: { type: 'keyword' },
    city: { type: 'keyword' },
    timezone: { type: 'keyword' },
    jobTitle: { type: 'text' },
    jobTitleCanonical: { type: 'keyword' },
    jobCategory: { type: 'keyword' },
    source: { type: 'keyword' },
    vendor: { type: 'keyword' },
    smsConsent: { type: 'boolean' },
  },
} as const;

export async function createSearchSink(opts: { url: string; index: string }): Promise<Sink> {
  const client = new Client({ node: opts.url, requestTimeout: 10_000, maxRetries: 0 });
  try {
    const exists = await client.indices.exists({ index: opts.index });
    if (!exists) {
      await client.indices
        .create({ index: opts.index, mappings: SEARCH_MAPPINGS, settings: { number_of_replicas: 0 } })
        .catch((err: { meta?: { body?: { error?: { type?: string } } } }) => {
          if (err.meta?.body?.error?.type !== 'resource_already_exists_exception') throw err;
        });
    }
  } catch (err) {
    throw new Error(`Elasticsearch at ${opts.url} is not usable: ${(err as Error).message}`);
  }

  return {
    kind: 'search',
    async deliver(leads: LeadEvent[]): Promise<DeliveryOutcome[]> {
      if (leads.length === 0) return [];
      const now = Date.now();
      const operations = leads.flatMap((lead) => [{ index: { _index: opts.index, _id: lead.leadId } }, searchDocument(lead, now)]);
      try {
        const res = await client.bulk({ operations, refresh: false });
        return res.items.map((item) => {
          const r = item.index;
          if (!r) return { status: 'retry', error: 'bulk item without an index result' } as const;
          if (r.status >= 200 && r.status < 300) return { status: 'delivered', detail: r.result ?? 'indexed' } as const;
          const reason = `${r.status} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}`.trim();
          // Mapping errors will fail again; pressure (429) and server errors may pass later.
          return r.status === 429 || r.status >= 500 ? ({ status: 'retry', error: reason } as const) : ({ status: 'dead', reason } as const);
        });
      } catch (err) {
        const error = `bulk request failed: ${(err as Error).message}`;
        return leads.map(() => ({ status: 'retry', error }) as const);
      }
    },
    close: () => client.close(),
  };
}
