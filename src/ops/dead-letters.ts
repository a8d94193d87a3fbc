/**
 * Dead letters as operators browse and replay them: one entry per lead and destination (the
 * latest death wins: a lead replayed and dead again shows once, with its newest reason), filtered
 * by destination, reason and time. The dashboard keeps an index of leads.dlq in memory while it
 * follows the topic; `lead-router replay --from dlq` builds the same entries in one read.
 */
import type { LeadEvent } from '../lead.js';

export interface DeadLead {
  leadId: string;
  /** "primary:buyer-us", or null for a lead that died before any delivery (enrich, route). */
  destination: string | null;
  reason: string;
  stage: string;
  deadAt: number;
  attempt: number | null;
  /** Where the lead was read from when it died. */
  originalTopic: string;
  /** Where this dead letter sits on leads.dlq. */
  partition: number;
  offset: string;
  lead: LeadEvent;
}

export interface DeadFilter {
  destination?: string | undefined;
  /** Case-insensitive substring of the reason. */
  reason?: string | undefined;
  /** Died at or after / at or before (epoch ms). */
  since?: number | undefined;
  until?: number | undefined;
  leadIds?: string[] | undefined;
}

export function deadLeadOf(lead: LeadEvent, where: { partition: number; offset: string; timestamp: number; headers?: Record<string, string> }): DeadLead {
  const dl = lead.deadLetter;
  return {
    leadId: lead.leadId,
    destination: lead.delivery?.destination ?? where.headers?.['x-destination'] ?? null,
    reason: dl?.reason ?? where.headers?.['x-dead-reason'] ?? 'no reason recorded',
    stage: dl?.stage ?? where.headers?.['x-dead-stage'] ?? 'unknown',
    deadAt: dl?.at ?? where.timestamp,
    attempt: lead.delivery?.attempt ?? null,
    originalTopic: dl?.topic ?? where.headers?.['x-original-topic'] ?? '',
    partition: where.partition,
    offset: where.offset,
    lead,
  };
}

export function matchesFilter(d: DeadLead, f: DeadFilter): boolean {
  if (f.destination && d.destination !== f.destination) return false;
  if (f.reason && !d.reason.toLowerCase().includes(f.reason.toLowerCase())) return false;
  if (f.since !== undefined && d.deadAt < f.since) return false;
  if (f.until !== undefined && d.deadAt > f.until) return false;
  if (f.leadIds && !f.leadIds.includes(d.leadId)) return false;
  return true;
}

const keyOf = (d: Pick<DeadLead, 'leadId' | 'destination' | 'stage'>) => `${d.leadId}|${d.destination ?? d.stage}`;

/** Latest dead letter per lead and destination, in memory, bounded (the oldest go first). */
export class DeadLetterIndex {
  private readonly entries = new Map<string, DeadLead>();

  constructor(private readonly max = 20_000) {}

  add(d: DeadLead): void {
    const key = keyOf(d);
    const had = this.entries.get(key);
    if (had && had.deadAt > d.deadAt) return;
    this.entries.delete(key); // re-inserted: Map order stays oldest-first
    this.entries.set(key, d);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Matching entries, newest first. */
  find(filter: DeadFilter): DeadLead[] {
    return [...this.entries.values()].filter((d) => matchesFilter(d, filter)).sort((a, b) => b.deadAt - a.deadAt);
  }

  size(): number {
    return this.entries.size;
  }

  destinations(): string[] {
    return [...new Set([...this.entries.values()].map((d) => d.destination ?? `(${d.stage})`))].sort();
  }
}

/** The same reduction for a one-shot read (the CLI): the latest per lead and destination. */
export function latestPerDelivery(all: Iterable<DeadLead>): DeadLead[] {
  const index = new DeadLetterIndex(Number.MAX_SAFE_INTEGER);
  for (const d of all) index.add(d);
  return index.find({});
}
