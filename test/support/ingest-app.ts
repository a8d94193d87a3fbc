/** An ingest app for route tests: in-memory publisher, a history with two vendors' leads, the test keyring. */
import type { FastifyInstance } from 'fastify';
import { buildIngestApp } from '../../src/ingest/app.js';
import { VendorLeadDedup } from '../../src/ingest/dedup.js';
import type { SmsWebhookDeps, InboundReply } from '../../src/ingest/sms-webhooks-plugin.js';
import type { StoredEvent } from '../../src/history/store.js';
import type { LeadEvent } from '../../src/lead.js';
import { OverloadedError, type Overload } from '../../src/producers/lead-batcher.js';
import { testKeyring } from './auth.js';

export const ACME_LEAD = '0190c0de-0000-7000-8000-00000000000a';
export const ZENITH_LEAD = '0190c0de-0000-7000-8000-00000000000b';

const at = (s: number) => new Date(1_767_225_600_000 + s * 1000);
function historyOf(leadId: string, vendor: string): StoredEvent[] {
  const base = { leadId, destination: null, attempt: null, detail: null, fields: {} };
  return [
    { ...base, _id: `${leadId}-r`, type: 'received', at: at(0), stage: 'ingest', fields: { vendor, source: 'jobs-board', country: 'US' } },
    { ...base, _id: `${leadId}-d`, type: 'dead', at: at(1), stage: 'sink-primary', destination: 'primary:buyer-us', attempt: 3, detail: 'HTTP 422: {"error":"jane.doe@example.com exists","phone":"+14155550132"}' },
    { ...base, _id: `${leadId}-y`, type: 'reply', at: at(2), stage: 'ingest', destination: 'sms:twilio', detail: 'please call me on 415 555 0132' },
  ];
}

export interface TestIngest {
  app: FastifyInstance;
  published: LeadEvent[];
  replies: InboundReply[];
  /** Set to make the publisher report (and refuse with) overload. */
  overload: { now: Overload | null };
}

export async function testIngest(opts: { tightLimit?: boolean; maxBodyBytes?: number; webhooks?: Partial<SmsWebhookDeps>; ready?: boolean } = {}): Promise<TestIngest> {
  const published: LeadEvent[] = [];
  const replies: InboundReply[] = [];
  const overload: TestIngest['overload'] = { now: null };
  const stored = new Map([
    [ACME_LEAD, historyOf(ACME_LEAD, 'acme-leads')],
    [ZENITH_LEAD, historyOf(ZENITH_LEAD, 'zenith-leads')],
  ]);
  const app = await buildIngestApp(
    {
      publisher: {
        async publish(e) {
          if (overload.now) throw new OverloadedError(overload.now);
          published.push(e);
        },
        overload: () => overload.now,
        async close() {},
      },
      history: { forLead: async (id) => stored.get(id) ?? [] },
      dedup: new VendorLeadDedup(60_000, 1000),
      keyring: await testKeyring({ tightLimit: opts.tightLimit ?? false }),
      readiness: async () => (opts.ready ? [] : ['kafka: broker 127.0.0.1:9092 unreachable']),
    },
    { maxBodyBytes: opts.maxBodyBytes ?? 16_384, logger: false },
    {
      providers: { twilio: { kind: 'twilio', authToken: 'tw-token' }, eurosms: { kind: 'json', webhookSecret: 'json-secret' } },
      publicBaseUrl: 'https://router.example.com',
      async onReply(r) {
        replies.push(r);
      },
      async onReceipt() {},
      ...opts.webhooks,
    },
  );
  return { app, published, replies, overload };
}
