/**
 * Per-destination outcome rates, latency percentiles and the most recent leads, aggregated in
 * memory from the history events on leads.events (the dashboard follows that topic from a few
 * minutes back). Why the topic and not the history store: every process's outcomes are on it,
 * exactly once per event id, within a second, even while sink-history or MongoDB is down, and
 * reading it costs the single-writer store nothing. Why not the sinks' /metrics: counters are
 * per process and restart at zero, and an operator's page should not depend on finding every
 * sink process. Pure: fed events, asked for views; no I/O.
 */
import type { HistoryEventRecord } from '../history/events.js';

export interface DestinationStats {
  destination: string;
  /** Events in the window (default 5 minutes), by outcome. */
  counts: Record<Outcome, number>;
  /** Per minute, over the last minute. */
  perMinute: { delivered: number; retry: number; dead: number };
  /** receivedAt → delivered, over the deliveries in the window; null when none. */
  p50Ms: number | null;
  p99Ms: number | null;
  lastDeliveredAt: number | null;
}

export interface RecentLead {
  leadId: string;
  receivedAt: number;
  vendor: string | null;
  source: string | null;
  country: string | null;
  vendorLeadId: string | null;
  /** The newest event's type ("delivered", "dead", …). */
  last: string;
  delivered: string[];
  dead: string[];
}

const OUTCOMES = { delivered: 'delivered', retried: 'retry', dead: 'dead', suppressed: 'suppressed', deferred: 'deferred', fallback: 'fallback', duplicate: 'duplicate' } as const;
type Outcome = (typeof OUTCOMES)[keyof typeof OUTCOMES];
const zero = (): Record<Outcome, number> => ({ delivered: 0, retry: 0, dead: 0, suppressed: 0, deferred: 0, fallback: 0, duplicate: 0 });

/** A UUIDv7 starts with its creation time in ms: ingest's receivedAt, to the millisecond. */
export function uuidv7Time(id: string): number | null {
  const hex = id.replace(/-/g, '').slice(0, 12);
  return /^[0-9a-f]{12}$/i.test(hex) && id[14] === '7' ? parseInt(hex, 16) : null;
}

export function percentile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export class EventStats {
  private readonly buckets = new Map<string, Map<number, Record<Outcome, number>>>();
  private readonly latencies = new Map<string, { at: number; ms: number }[]>();
  private readonly lastDelivered = new Map<string, number>();
  private readonly leads = new Map<string, RecentLead>();
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];

  constructor(
    private readonly opts: { windowMs?: number; bucketMs?: number; recentMax?: number; latencySamples?: number; now?: () => number } = {},
  ) {}

  private get windowMs() {
    return this.opts.windowMs ?? 5 * 60_000;
  }
  private get bucketMs() {
    return this.opts.bucketMs ?? 10_000;
  }
  private now() {
    return (this.opts.now ?? Date.now)();
  }

  add(e: HistoryEventRecord): void {
    // The topic is at-least-once: a redelivered event has the same id and counts once.
    if (this.seen.has(e.eventId)) return;
    this.seen.add(e.eventId);
    this.seenOrder.push(e.eventId);
    if (this.seenOrder.length > 200_000) this.seen.delete(this.seenOrder.shift()!);
    this.trackLead(e);
    const outcome = OUTCOMES[e.type as keyof typeof OUTCOMES];
    if (!outcome || !e.destination || e.at < this.now() - this.windowMs) return;
    const byBucket = this.buckets.get(e.destination) ?? new Map<number, Record<Outcome, number>>();
    this.buckets.set(e.destination, byBucket);
    const b = Math.floor(e.at / this.bucketMs) * this.bucketMs;
    const counts = byBucket.get(b) ?? zero();
    byBucket.set(b, counts);
    counts[outcome]++;
    if (outcome === 'delivered') {
      const receivedAt = this.leads.get(e.leadId)?.receivedAt ?? uuidv7Time(e.leadId);
      if (receivedAt !== null) {
        const list = this.latencies.get(e.destination) ?? [];
        this.latencies.set(e.destination, list);
        list.push({ at: e.at, ms: Math.max(0, e.at - receivedAt) });
        if (list.length > (this.opts.latencySamples ?? 5000)) list.shift();
      }
      this.lastDelivered.set(e.destination, Math.max(e.at, this.lastDelivered.get(e.destination) ?? 0));
    }
  }

  private trackLead(e: HistoryEventRecord): void {
    if (e.type === 'received') {
      const f = e.fields ?? {};
      this.leads.set(e.leadId, { leadId: e.leadId, receivedAt: e.at, vendor: f.vendor ?? null, source: f.source ?? null, country: f.country ?? null, vendorLeadId: f.vendorLeadId ?? null, last: 'received', delivered: [], dead: [] });
      const max = this.opts.recentMax ?? 200;
      if (this.leads.size > max) this.leads.delete(this.leads.keys().next().value!);
      return;
    }
    const lead = this.leads.get(e.leadId);
    if (!lead) return;
    lead.last = e.type;
    if (e.type === 'delivered' && e.destination && !lead.delivered.includes(e.destination)) lead.delivered.push(e.destination);
    if (e.type === 'dead') lead.dead.push(e.destination ?? e.stage);
  }

  destinations(known: string[] = []): DestinationStats[] {
    const now = this.now();
    const from = now - this.windowMs;
    const names = [...new Set([...known, ...this.buckets.keys()])].sort();
    return names.map((destination) => {
      const counts = zero();
      const lastMinute = { delivered: 0, retry: 0, dead: 0 };
      const byBucket = this.buckets.get(destination) ?? new Map<number, Record<Outcome, number>>();
      for (const [b, c] of byBucket) {
        if (b + this.bucketMs <= from) {
          byBucket.delete(b);
          continue;
        }
        for (const k of Object.keys(counts) as Outcome[]) counts[k] += c[k];
        if (b + this.bucketMs > now - 60_000) {
          lastMinute.delivered += c.delivered;
          lastMinute.retry += c.retry;
          lastMinute.dead += c.dead;
        }
      }
      const samples = (this.latencies.get(destination) ?? []).filter((s) => s.at >= from);
      this.latencies.set(destination, samples);
      const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
      return { destination, counts, perMinute: lastMinute, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), lastDeliveredAt: this.lastDelivered.get(destination) ?? null };
    });
  }

  /** Newest first. */
  recentLeads(limit = 25): RecentLead[] {
    return [...this.leads.values()].sort((a, b) => b.receivedAt - a.receivedAt).slice(0, limit).map((l) => ({ ...l, delivered: [...l.delivered], dead: [...l.dead] }));
  }

  /** leadIds of recent leads with this vendorLeadId (the history store is the full answer). */
  byVendorLeadId(vendorLeadId: string): string[] {
    return [...this.leads.values()].filter((l) => l.vendorLeadId === vendorLeadId).map((l) => l.leadId);
  }
}
