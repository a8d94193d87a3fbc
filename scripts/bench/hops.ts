/**
 * Where a lead's time went, hop by hop, from its history: each event is stamped by the stage that
 * did the work, so received → enriched → routed → delivered (per destination) splits the
 * end-to-end latency into ingest+enrich, route, and each deliver stage. Used by history:check and
 * bench:compare (issue 11's per-hop breakdown). Clocks: one machine, so one clock.
 */
import type { MongoClient } from 'mongodb';
import { EVENTS_COLLECTION, type StoredEvent } from '../../src/history/store.js';

type HopEvent = Pick<StoredEvent, 'type' | 'destination' | 'at'>;
const DESTINATIONS = ['primary:', 'sms:', 'search:'];

export function addHops(hops: Map<string, number[]>, events: HopEvent[]): void {
  const at = (type: string) => events.find((e) => e.type === type)?.at.getTime();
  const add = (name: string, from: number | undefined, to: number | undefined) => {
    if (from === undefined || to === undefined) return;
    let list = hops.get(name);
    if (!list) hops.set(name, (list = []));
    list.push(to - from);
  };
  const [received, enriched, routed] = [at('received'), at('enriched'), at('routed')];
  add('received → enriched', received, enriched);
  add('enriched → routed', enriched, routed);
  for (const d of DESTINATIONS) add(`routed → delivered ${d}…`, routed, events.find((e) => e.type === 'delivered' && e.destination?.startsWith(d))?.at.getTime());
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

export function formatHops(hops: Map<string, number[]>): string[] {
  return [...hops].map(([name, ms]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    return `hop ${name.padEnd(30)} p50 ${pct(sorted, 0.5)} ms, p99 ${pct(sorted, 0.99)} ms (${sorted.length} leads)`;
  });
}

/** The hops of every lead received since `since`, read from the history store's events. */
export async function hopsSince(client: MongoClient, since: Date): Promise<string[]> {
  const events = client.db().collection<StoredEvent>(EVENTS_COLLECTION);
  const byLead = new Map<string, HopEvent[]>();
  const cursor = events.find({ at: { $gte: since } }, { projection: { leadId: 1, type: 1, destination: 1, at: 1 }, batchSize: 5000 });
  for await (const e of cursor) {
    let list = byLead.get(e.leadId);
    if (!list) byLead.set(e.leadId, (list = []));
    list.push(e);
  }
  const hops = new Map<string, number[]>();
  for (const list of byLead.values()) if (list.some((e) => e.type === 'received')) addHops(hops, list);
  return formatHops(hops);
}
