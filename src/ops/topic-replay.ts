/**
 * `lead-router replay --topic leads.raw --since T [--until T]`: leads accepted in a time window go
 * through enrich and route again, with the code and the rules in force now (after a rules change:
 * a rule that rejected them now matches, or adds a destination), and on to their destinations'
 * retry topics, where the sinks' retry stages deliver them under the retry quota: a replay of a
 * day's leads never queues in front of the leads arriving meanwhile.
 *
 * Enrich and route run in this process, not in the running groups, so the tool knows every lead's
 * new destinations before it sends anything: it can say what a run would do (--dry-run) and skip,
 * per lead and destination, what the history says was already delivered (or replayed and still
 * in flight). A lead is never delivered twice to a destination, and a second run sends nothing new.
 */
import { parseDestination, retryTopic } from '../destination.js';
import { eventOutputs, type HistoryEntry } from '../history/events.js';
import type { StoredEvent } from '../history/store.js';
import type { Output, RecordProducer } from '../kafka/stage-contract.js';
import type { Encoder, LeadCodec } from '../kafka/codec.js';
import { chunkRecords, type ProduceLimits } from '../kafka/produce-limits.js';
import { readRange } from '../kafka/topic-reader.js';
import type { Kafka } from '../kafka/client.js';
import type { LeadEvent } from '../lead.js';
import type { Topology } from '../topology.js';

export interface TopicReplayDeps {
  kafka: Kafka;
  topology: Pick<Topology, 'topics'>;
  leadCodec: LeadCodec;
  encoder: Encoder;
  producer: RecordProducer;
  limits: ProduceLimits;
  history(leadId: string): Promise<StoredEvent[]>;
  /** Enrichment as the enrich stage does it. */
  enrich(leads: LeadEvent[]): Promise<LeadEvent[]>;
  /** Routing with the rules in force now, as the route stage does it. */
  route(lead: LeadEvent, now: number): { outputs: Output[] };
  now(): number;
}

export interface DestinationPlan {
  deliver: number;
  alreadyDelivered: number;
  inFlight: number;
}

export interface TopicReplayReport {
  read: number;
  leads: number;
  undecodable: number;
  rejected: number;
  destinations: Record<string, DestinationPlan>;
}

/** Whether a (lead, destination) is done: delivered, or replayed and not dead since. */
export function deliveryState(history: StoredEvent[], destination: string): 'delivered' | 'in flight' | 'open' {
  const mine = history.filter((e) => e.destination === destination);
  if (mine.some((e) => e.type === 'delivered')) return 'delivered';
  const lastReplay = mine.filter((e) => e.type === 'replayed').at(-1);
  if (lastReplay && !mine.some((e) => e.type === 'dead' && e.at >= lastReplay.at)) return 'in flight';
  return 'open';
}

export async function replayRawTopic(
  deps: TopicReplayDeps,
  opts: { since: number; until?: number | undefined; dryRun: boolean; by: string; onProgress?(read: number, total: number): void },
): Promise<TopicReplayReport> {
  const report: TopicReplayReport = { read: 0, leads: 0, undecodable: 0, rejected: 0, destinations: {} };
  const seen = new Set<string>(); // the topic is at-least-once: a lead written twice runs once
  const run = `${deps.now()}`;
  const { topics } = deps.topology;
  await readRange({
    kafka: deps.kafka,
    topic: topics.raw,
    since: opts.since,
    ...(opts.until !== undefined ? { until: opts.until } : {}),
    onProgress: opts.onProgress,
    async onBatch(records) {
      report.read += records.length;
      const leads: LeadEvent[] = [];
      for (const r of records) {
        const lead = await deps.leadCodec.decode(r.value).catch(() => null);
        if (!lead) report.undecodable++;
        else if (!seen.has(lead.leadId)) {
          seen.add(lead.leadId);
          leads.push(lead);
        }
      }
      if (leads.length === 0) return;
      report.leads += leads.length;
      const enriched = await deps.enrich(leads);
      const now = deps.now();
      const send: Output[] = [];
      for (const lead of enriched) {
        const routed = deps.route(lead, now).outputs.filter((o) => o.topic !== topics.events);
        const deliveries = routed.filter((o) => (o.value as LeadEvent).delivery);
        if (deliveries.length === 0) {
          report.rejected++;
          continue;
        }
        const history = await deps.history(lead.leadId);
        const events: HistoryEntry[] = [];
        for (const o of deliveries) {
          const delivery = (o.value as LeadEvent).delivery!;
          const plan = (report.destinations[delivery.destination] ??= { deliver: 0, alreadyDelivered: 0, inFlight: 0 });
          const state = deliveryState(history, delivery.destination);
          if (state === 'delivered') plan.alreadyDelivered++;
          else if (state === 'in flight') plan.inFlight++;
          else {
            plan.deliver++;
            const d = parseDestination(delivery.destination);
            send.push({ ...o, topic: (d && retryTopic(d, deps.topology)) ?? o.topic });
            events.push({ leadId: lead.leadId, type: 'replayed', at: now, stage: 'replay', destination: delivery.destination, detail: `re-run from ${topics.raw} by ${opts.by}: rule ${delivery.rule}`, discriminator: run });
          }
        }
        send.push(...eventOutputs(topics.events, events));
      }
      if (opts.dryRun || send.length === 0) return;
      const encoded = send.map((o) => ({ topic: o.topic, key: o.key, value: deps.encoder.encode(o.topic, o.value) }));
      for (const part of chunkRecords(encoded, deps.limits)) await deps.producer.send(part);
    },
  });
  return report;
}
