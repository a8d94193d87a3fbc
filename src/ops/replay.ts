/**
 * Replaying dead leads, shared by the dashboard and `lead-router replay --from dlq`: each dead
 * lead goes back onto its destination's topic (attempt 0, a fresh retry budget, optionally
 * edited), where its sink delivers it as any other, with a `replayed` event in its history.
 *
 * Idempotent, from the history store: a lead that has a `delivered` event for that destination
 * is not sent again, and one already replayed since it died is not sent twice (it is in flight;
 * if it dies again, its newer dead letter makes it eligible). Destinations dedupe on
 * <leadId>:<destination> as well, so even two replays racing deliver once.
 */
import pLimit from 'p-limit';
import { destinationKey, parseDestination, retryTopic } from '../destination.js';
import { eventOutputs } from '../history/events.js';
import type { StoredEvent } from '../history/store.js';
import type { Output, RecordProducer } from '../kafka/stage-contract.js';
import type { Encoder } from '../kafka/codec.js';
import { chunkRecords, type EncodedRecord, type ProduceLimits } from '../kafka/produce-limits.js';
import type { LeadEvent } from '../lead.js';
import type { Topology } from '../topology.js';
import type { DeadLead } from './dead-letters.js';
import { applyEdit } from './lead-edit.js';

export interface ReplayDeps {
  topology: Pick<Topology, 'topics'>;
  /** A lead's stored history, oldest first. */
  history(leadId: string): Promise<StoredEvent[]>;
  encoder: Encoder;
  producer: RecordProducer;
  limits: ProduceLimits;
  now(): number;
}

export interface ReplayOptions {
  /** Merged into each lead before it goes (see lead-edit.ts for what may change). */
  edit?: Record<string, unknown> | undefined;
  dryRun?: boolean;
  /** Who replays: "operator:<id>" or "cli". Recorded in the history. */
  by: string;
  onProgress?(done: number, total: number): void;
}

export interface ReplayItem {
  leadId: string;
  destination: string | null;
  action: 'replayed' | 'would replay' | 'skipped' | 'failed';
  why?: string;
}

export interface ReplayReport {
  total: number;
  replayed: number;
  skipped: number;
  failed: number;
  /** Why leads were skipped or failed, with counts. */
  reasons: Record<string, number>;
  /** The first 500 items, for a page or a terminal. */
  items: ReplayItem[];
}

export type Verdict = { replay: true; topic: string; key: string } | { replay: false; why: string };

const LEAD_TOPICS = ['raw', 'enriched'] as const;

/** Whether (and where) a dead lead goes again, given its history. */
export function replayVerdict(d: DeadLead, history: StoredEvent[], topology: Pick<Topology, 'topics'>): Verdict {
  const same = (e: StoredEvent) => (e.destination ?? null) === d.destination;
  if (d.destination && history.some((e) => e.type === 'delivered' && same(e))) return { replay: false, why: 'already delivered' };
  if (history.some((e) => e.type === 'replayed' && same(e) && e.at.getTime() >= d.deadAt)) return { replay: false, why: 'already replayed since it died' };
  if (d.destination) {
    const dest = parseDestination(d.destination);
    // The retry lane: a replay of thousands waits its turn under the retry quota, not in front of fresh leads.
    const topic = dest && retryTopic(dest, topology);
    if (!dest || !topic) return { replay: false, why: `no topic for destination ${d.destination} in this router` };
    return { replay: true, topic, key: destinationKey(dest, d.lead) };
  }
  // Died before any delivery (enrich, route): back to the topic it was read from, to be processed again.
  const original = LEAD_TOPICS.map((k) => topology.topics[k]).find((t) => t === d.originalTopic);
  return original ? { replay: true, topic: original, key: d.leadId } : { replay: false, why: `cannot replay from ${d.originalTopic || 'an unknown topic'}` };
}

/** The lead as it goes again: no dead-letter section, attempt 0 with a fresh retry budget. */
export function replayedLead(d: DeadLead, now: number, edit?: Record<string, unknown>): LeadEvent {
  const lead = edit ? applyEdit(d.lead, edit) : d.lead;
  const delivery = lead.delivery && d.destination ? { ...lead.delivery, attempt: 0, firstAttemptAt: now, nextAttemptAt: null, lastError: null } : lead.delivery;
  return { ...lead, delivery, deadLetter: null };
}

export async function replayDeadLeads(deps: ReplayDeps, dead: DeadLead[], opts: ReplayOptions): Promise<ReplayReport> {
  const report: ReplayReport = { total: dead.length, replayed: 0, skipped: 0, failed: 0, reasons: {}, items: [] };
  const note = (item: ReplayItem) => {
    if (item.action === 'replayed' || item.action === 'would replay') report.replayed++;
    else {
      if (item.action === 'skipped') report.skipped++;
      else report.failed++;
      report.reasons[item.why ?? item.action] = (report.reasons[item.why ?? item.action] ?? 0) + 1;
    }
    if (report.items.length < 500) report.items.push(item);
  };
  const editedFields = opts.edit ? Object.keys(opts.edit).join(', ') : '';
  const limit = pLimit(8); // history reads: one indexed query per lead, a few at a time
  let done = 0;
  for (let i = 0; i < dead.length; i += 200) {
    const chunk = dead.slice(i, i + 200);
    const histories = await Promise.all(chunk.map((d) => limit(() => deps.history(d.leadId))));
    const now = deps.now();
    const records: EncodedRecord[] = [];
    const sent: ReplayItem[] = [];
    chunk.forEach((d, j) => {
      const verdict = replayVerdict(d, histories[j]!, deps.topology);
      if (!verdict.replay) return note({ leadId: d.leadId, destination: d.destination, action: 'skipped', why: verdict.why });
      try {
        const value = replayedLead(d, now, opts.edit);
        const event = {
          leadId: d.leadId,
          type: 'replayed' as const,
          at: now,
          stage: 'replay',
          ...(d.destination ? { destination: d.destination } : {}),
          detail: `from ${deps.topology.topics.dlq} to ${verdict.topic} by ${opts.by}${editedFields ? `; edited: ${editedFields}` : ''}; had died ${new Date(d.deadAt).toISOString()}: ${d.reason.slice(0, 200)}`,
          discriminator: `${now}-${d.offset}`,
        };
        const outputs: Output[] = [{ topic: verdict.topic, key: verdict.key, value }, ...eventOutputs(deps.topology.topics.events, [event])];
        // Encoded here, lead by lead: an edit that breaks the schema fails this lead only, by name.
        const encoded = outputs.map((o) => ({ topic: o.topic, key: o.key, value: deps.encoder.encode(o.topic, o.value) }));
        if (!opts.dryRun) records.push(...encoded);
        sent.push({ leadId: d.leadId, destination: d.destination, action: opts.dryRun ? 'would replay' : 'replayed' });
      } catch (err) {
        note({ leadId: d.leadId, destination: d.destination, action: 'failed', why: (err as Error).message });
      }
    });
    for (const part of chunkRecords(records, deps.limits)) await deps.producer.send(part);
    sent.forEach(note);
    done += chunk.length;
    opts.onProgress?.(done, dead.length);
  }
  return report;
}
