/**
 * Where a delivery goes: a lead buyer, an SMS provider or the search index. Written
 * "kind:name" on the wire (Delivery.destination, idempotency keys, history), parsed here once.
 */
import type { LeadEvent } from './lead.js';
import type { DestinationTopics, Topology } from './topology.js';

export type DestinationKind = 'primary' | 'sms' | 'search';

export interface Destination {
  kind: DestinationKind;
  /** Buyer name, SMS provider name, or search index. */
  name: string;
}

const KINDS: readonly DestinationKind[] = ['primary', 'sms', 'search'];

export function parseDestination(text: string): Destination | null {
  const i = text.indexOf(':');
  if (i <= 0) return null;
  const kind = text.slice(0, i) as DestinationKind;
  const name = text.slice(i + 1);
  return KINDS.includes(kind) && name ? { kind, name } : null;
}

export function formatDestination(d: Destination): string {
  return `${d.kind}:${d.name}`;
}

/** A destination's topic in one set of per-destination topics (first deliveries, or retries). */
export function topicFor(d: { kind: DestinationKind; name: string | null }, topics: DestinationTopics): string | undefined {
  return d.kind === 'sms' ? topics.sms[d.name ?? ''] : topics[d.kind];
}

/** The topic a destination's first deliveries are consumed from, or undefined if it has none here. */
export function destinationTopic(d: Destination, topology: Pick<Topology, 'topics'>): string | undefined {
  return topicFor(d, topology.topics);
}

/**
 * The topic a destination's retries and replays go to: read by its sink's retry stage, in a group
 * of its own and under a quota, so they never queue in front of first deliveries.
 */
export function retryTopic(d: Destination, topology: Pick<Topology, 'topics'>): string | undefined {
  return topicFor(d, topology.topics.retry);
}

/** The record key on a destination's topic: SMS topics are keyed by phone (one person, one partition). */
export function destinationKey(d: Destination, lead: Pick<LeadEvent, 'leadId' | 'enrichment'>): string {
  return d.kind === 'sms' ? (lead.enrichment?.phone.e164 ?? lead.leadId) : lead.leadId;
}
