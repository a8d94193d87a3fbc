/**
 * Lead history as events on the leads.events topic. A stage never writes the history store: it
 * adds an event for what it did to the same acks=all produce as its outputs, and the
 * sink-history group writes them (src/history/store.ts). So history is as durable as the
 * topics, and a crash loses none of it.
 *
 * Event ids are deterministic (lead, stage, type, destination, attempt and a discriminator), so
 * a redelivered record produces the same ids and the store keeps one of each: a lead delivered
 * twice to the same destination at the same attempt is one "delivered" event.
 */
import crypto from 'node:crypto';
import type { Output } from '../kafka/stage-contract.js';

export type HistoryEventType =
  | 'received'
  | 'enriched'
  | 'routed'
  | 'rejected'
  | 'delivered'
  | 'failed'
  | 'retried'
  | 'dead'
  | 'deferred'
  | 'released'
  | 'fallback'
  | 'reply'
  | 'duplicate'
  | 'suppressed'
  | 'status'
  | 'replayed'
  /** Distribution (src/distribution): a buyer passed over at once (closed, capped, filtered, no bid, deadline), with the reason. */
  | 'skipped'
  /** A buyer's reply said no (its reason): final for that buyer, the lead moves on. */
  | 'declined'
  /** No buyer took the lead: it is on leads.unsold with every reason. */
  | 'unsold'
  /** A buyer returned a lead it bought: credited back, redistributed when the group says so. */
  | 'returned';

/** What a stage says happened. */
export interface HistoryEntry {
  leadId: string;
  type: HistoryEventType;
  at: number;
  stage: string;
  destination?: string;
  attempt?: number;
  detail?: string;
  /** Searchable facts about the lead (on its received event). */
  fields?: Record<string, string>;
  /** Tells apart events that may legitimately repeat with the same type and attempt (receipts, deferrals). */
  discriminator?: string;
}

/** The record on leads.events (schemas/avro/history-event.avsc). */
export interface HistoryEventRecord {
  eventId: string;
  leadId: string;
  type: string;
  at: number;
  stage: string;
  destination: string | null;
  attempt: number | null;
  detail: string | null;
  fields: Record<string, string>;
}

export function eventId(e: Pick<HistoryEntry, 'leadId' | 'stage' | 'type' | 'destination' | 'attempt' | 'discriminator'>): string {
  const parts = [e.leadId, e.stage, e.type, e.destination ?? '', e.attempt ?? '', e.discriminator ?? ''].join('\u0000');
  return crypto.createHash('sha256').update(parts).digest('base64url').slice(0, 27);
}

const MAX_DETAIL = 500;

export function toEventRecord(e: HistoryEntry): HistoryEventRecord {
  return {
    eventId: eventId(e),
    leadId: e.leadId,
    type: e.type,
    at: e.at,
    stage: e.stage,
    destination: e.destination ?? null,
    attempt: e.attempt ?? null,
    detail: e.detail === undefined ? null : e.detail.slice(0, MAX_DETAIL),
    fields: e.fields ?? {},
  };
}

/** The outputs that carry these entries on the events topic, keyed by lead (one lead, one partition, in order). */
export function eventOutputs(eventsTopic: string, entries: HistoryEntry[]): Output[] {
  return entries.map((e) => ({ topic: eventsTopic, key: e.leadId, value: toEventRecord(e) }));
}
