/**
 * What an operator does from the dashboard: find a lead (by leadId, phone or vendorLeadId) and
 * read its timeline, browse and replay dead letters (src/ops/replay.ts, the CLI's code), look up
 * and set an opt-out. The DLQ index follows leads.dlq from its first record while the dashboard
 * is in use, so filtering is instant and a filtered replay sees every dead letter.
 */
import { Client } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { EVENTS_COLLECTION, type HistoryStore, type StoredEvent } from '../history/store.js';
import type { RecordProducer } from '../kafka/stage-contract.js';
import type { Encoder, LeadCodec } from '../kafka/codec.js';
import type { Kafka } from '../kafka/client.js';
import type { ProduceLimits } from '../kafka/produce-limits.js';
import { followTopic, type TopicFollower } from '../kafka/topic-reader.js';
import { FIRST_BATCH, deadline } from '../mongo-ops.js';
import { DeadLetterIndex, deadLeadOf, type DeadFilter, type DeadLead } from '../ops/dead-letters.js';
import type { EventStats } from '../ops/event-stats.js';
import { replayDeadLeads, type ReplayReport } from '../ops/replay.js';
import { enrichPhone } from '../processors/enrich/phone.js';
import { optOutOutput, type OptOutList } from '../sinks/sms/optouts.js';
import type { Topology } from '../topology.js';

export interface ActionDeps {
  config: Config;
  topology: Topology;
  kafka: Kafka;
  producer: RecordProducer;
  encoder: Encoder;
  leadCodec: LeadCodec;
  limits: ProduceLimits;
  historyStore(): Promise<HistoryStore>;
  optOuts(): Promise<OptOutList>;
  stats: EventStats;
  log: Logger;
  now(): number;
}

export interface FoundLead {
  leadId: string;
  receivedAt: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** "+1 (415) 555-0132", "4155550132", "+44 7700 900123" → E.164, or null. */
export function toE164(text: string): string | null {
  const t = text.trim();
  for (const country of t.startsWith('+44') ? (['GB'] as const) : (['US', 'GB'] as const)) {
    const p = enrichPhone(t, country);
    if (p.e164) return p.e164;
  }
  return null;
}

export function searchKind(q: string): 'leadId' | 'phone' | 'vendorLeadId' {
  if (UUID.test(q.trim())) return 'leadId';
  const digits = (q.match(/\d/g) ?? []).length;
  if (/^[+()\d\s.-]+$/.test(q.trim()) && digits >= 10 && digits <= 15) return 'phone';
  return 'vendorLeadId';
}

export class DashboardActions {
  private readonly dlq = new DeadLetterIndex();
  private dlqFollower: Promise<TopicFollower> | null = null;
  private es: Client | null = null;

  constructor(private readonly deps: ActionDeps) {}

  /** Starts following leads.dlq (once); resolves when it has read what the topic held. */
  private dlqReady(): Promise<void> {
    this.dlqFollower ??= followTopic({
      kafka: this.deps.kafka,
      topic: this.deps.topology.topics.dlq,
      onBatch: async (records) => {
        for (const r of records) {
          const lead = await this.deps.leadCodec.decode(r.value).catch(() => null);
          if (lead) this.dlq.add(deadLeadOf(lead, { partition: r.partition, offset: r.offset, timestamp: r.timestamp, headers: r.headers }));
        }
      },
    }).catch((err: unknown) => {
      this.dlqFollower = null;
      throw err;
    });
    return this.dlqFollower.then((f) => f.caughtUp);
  }

  async deadLetters(filter: DeadFilter, limit: number): Promise<{ total: number; items: DeadLead[]; destinations: string[]; complete: boolean }> {
    // A page answers within 5 s even while a large DLQ is still being read: it says so.
    const complete = await Promise.race([this.dlqReady().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
    const found = this.dlq.find(filter);
    return { total: found.length, items: found.slice(0, limit), destinations: this.dlq.destinations(), complete };
  }

  deadLead(leadId: string, destination: string | null): DeadLead | null {
    return this.dlq.find({ leadIds: [leadId] }).find((d) => d.destination === destination || (destination === null && d.destination === null)) ?? null;
  }

  async replay(filter: DeadFilter, opts: { edit?: Record<string, unknown> | undefined; dryRun: boolean; operator: string }): Promise<ReplayReport> {
    await this.dlqReady(); // a filtered set must be the whole set
    const dead = this.dlq.find(filter);
    const store = await this.deps.historyStore();
    const report = await replayDeadLeads(
      { topology: this.deps.topology, history: (id) => store.forLead(id), encoder: this.deps.encoder, producer: this.deps.producer, limits: this.deps.limits, now: this.deps.now },
      dead,
      { edit: opts.edit, dryRun: opts.dryRun, by: `operator:${opts.operator}` },
    );
    // Audit: who replayed what (ids and counts only: no personal data in logs).
    this.deps.log.info({ operator: opts.operator, filter: { ...filter, leadIds: filter.leadIds?.length }, edited: opts.edit ? Object.keys(opts.edit) : [], dryRun: opts.dryRun, replayed: report.replayed, skipped: report.skipped }, 'dashboard: DLQ replay');
    return report;
  }

  async timeline(leadId: string): Promise<StoredEvent[]> {
    return (await this.deps.historyStore()).forLead(leadId);
  }

  async search(q: string): Promise<{ by: 'leadId' | 'phone' | 'vendorLeadId'; leads: FoundLead[]; note: string | null }> {
    const by = searchKind(q);
    if (by === 'leadId') return { by, leads: [{ leadId: q.trim().toLowerCase(), receivedAt: null }], note: null };
    if (by === 'phone') {
      const phone = toE164(q);
      if (!phone) return { by, leads: [], note: 'not a phone number that can be read' };
      this.es ??= new Client({ node: this.deps.config.env.ES_URL, requestTimeout: 5000, maxRetries: 0 });
      const res = await this.es
        .search<{ leadId: string; receivedAt: number }>({ index: this.deps.config.router.search.index, size: 20, query: { term: { phone } }, sort: [{ receivedAt: 'desc' }], _source: ['leadId', 'receivedAt'] })
        .catch((err: { meta?: { statusCode?: number } }) => {
          if (err.meta?.statusCode === 404) return { hits: { hits: [] } }; // no index yet: nothing was indexed
          throw err;
        });
      const leads = res.hits.hits.flatMap((h) => (h._source ? [{ leadId: h._source.leadId, receivedAt: new Date(h._source.receivedAt).toISOString() }] : []));
      // A long numeric vendorLeadId looks like a phone: with no phone match, try it as one.
      if (leads.length === 0) {
        const asId = await this.byVendorLeadId(q);
        if (asId.length > 0) return { by: 'vendorLeadId', leads: asId, note: null };
      }
      return { by, leads, note: `phone ${phone} in the search index (leads routed to search only)` };
    }
    return { by, leads: await this.byVendorLeadId(q), note: null };
  }

  private async byVendorLeadId(q: string): Promise<FoundLead[]> {
    // The received events carry it: the store (indexed), plus recent leads not written there yet.
    const store = await this.deps.historyStore();
    const stored = await deadline('vendorLeadId search', 10_000, store.db.collection<StoredEvent>(EVENTS_COLLECTION).find({ type: 'received', 'fields.vendorLeadId': q.trim() }, { batchSize: FIRST_BATCH, limit: 50 }).toArray());
    const ids = new Map<string, string | null>(stored.map((e) => [e.leadId, e.at.toISOString()]));
    for (const id of this.deps.stats.byVendorLeadId(q.trim())) if (!ids.has(id)) ids.set(id, null);
    return [...ids].map(([leadId, receivedAt]) => ({ leadId, receivedAt }));
  }

  async optOutState(phoneText: string): Promise<{ phone: string; optedOut: boolean } | null> {
    const phone = toE164(phoneText);
    if (!phone) return null;
    return { phone, optedOut: (await this.deps.optOuts()).isOptedOut(phone) };
  }

  /** Writes the opt-out (or opt back in) to leads.optouts; every route and SMS process follows it. */
  async setOptOut(phoneText: string, optedOut: boolean, operator: string): Promise<{ phone: string; optedOut: boolean; applied: boolean } | null> {
    const phone = toE164(phoneText);
    if (!phone) return null;
    const out = optOutOutput(this.deps.topology.topics.optouts, { phone, optedOut, at: this.deps.now(), source: `operator:${operator}`, text: null });
    await this.deps.producer.send([{ topic: out.topic, key: out.key, value: this.deps.encoder.encode(out.topic, out.value) }]);
    this.deps.log.info({ operator, optedOut }, 'dashboard: manual opt-out written');
    const applied = await (await this.deps.optOuts()).waitFor(phone, optedOut, 5000);
    return { phone, optedOut, applied };
  }

  async close(): Promise<void> {
    const f = this.dlqFollower;
    this.dlqFollower = null;
    await f?.then((x) => x.close()).catch(() => undefined);
    await this.es?.close().catch(() => undefined);
  }
}
