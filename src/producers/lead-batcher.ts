/**
 * Micro-batching for ingest: concurrent requests are gathered for a millisecond or two and
 * sent in one produce request (acks=all) with each lead's "received" event beside it, split to
 * fit the broker's limits. Each caller's promise settles when the broker has acknowledged its
 * records, so an HTTP 202 always means "durably in Kafka, and in the lead's history".
 * A produce that Kafka does not acknowledge within the deadline is a failure for the caller
 * (503, the vendor retries); the idempotent producer may still land it, which costs at most
 * a duplicate lead, never a lost one.
 *
 * Overload: when Kafka slows down, waiting requests would pile up until each one times out, and
 * every vendor would wait the whole produce timeout for a 503. Instead publish() refuses at once
 * (OverloadedError: 503 + Retry-After, nothing kept, the vendor retries) while either
 *  - more than `maxPending` leads are waiting for an acknowledgement, or
 *  - the oldest produce in flight has waited `shedAfterMs` (Kafka's latency is running away).
 * Both clear by themselves as soon as Kafka catches up; `overload()` lets ingest check before it
 * even reads a request body.
 */
import { eventOutputs } from '../history/events.js';
import type { RecordProducer } from '../kafka/stage-contract.js';
import type { Encoder } from '../kafka/codec.js';
import { chunkRecords, type EncodedRecord, type ProduceLimits } from '../kafka/produce-limits.js';
import type { LeadEvent } from '../lead.js';

export interface LeadPublisher {
  publish(event: LeadEvent): Promise<void>;
  /** Why new leads should be refused right now, or null. */
  overload?(): Overload | null;
  close(): Promise<void>;
}

export interface Overload {
  reason: string;
  retryAfterS: number;
}

/** A lead refused before it was queued: not accepted, safe to retry. */
export class OverloadedError extends Error {
  override name = 'OverloadedError';
  readonly statusCode = 503;
  constructor(readonly overload: Overload) {
    super(overload.reason);
  }
}

interface Pending {
  records: EncodedRecord[];
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface LeadBatcherOptions {
  producer: RecordProducer;
  encoder: Encoder;
  limits: ProduceLimits;
  topics: { raw: string; events: string };
  maxBatch: number;
  lingerMs: number;
  timeoutMs: number;
  /** Most leads waiting for Kafka before new ones are refused (default: unbounded). */
  maxPending?: number;
  /** Refuse new leads while a produce has waited this long (default: never). */
  shedAfterMs?: number;
  now?: () => number;
}

/** The records for one accepted lead: the lead on leads.raw, its received event on leads.events. */
export function recordsForLead(event: LeadEvent, encoder: Encoder, topics: LeadBatcherOptions['topics']): EncodedRecord[] {
  const fields: Record<string, string> = { vendor: event.vendor, source: event.source, country: event.country };
  if (event.vendorLeadId) fields.vendorLeadId = event.vendorLeadId;
  const [received] = eventOutputs(topics.events, [{ leadId: event.leadId, type: 'received', at: event.receivedAt, stage: 'ingest', fields }]);
  return [
    { topic: topics.raw, key: event.leadId, value: encoder.encode(topics.raw, event) },
    { topic: received!.topic, key: received!.key, value: encoder.encode(received!.topic, received!.value) },
  ];
}

export function createLeadBatcher(opts: LeadBatcherOptions): LeadPublisher {
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | null = null;
  /** Each produce in flight and when it started. */
  const inFlight = new Map<Promise<void>, { startedAt: number; leads: number }>();
  const now = opts.now ?? Date.now;
  let pending = 0; // leads queued or in flight

  function overload(): Overload | null {
    if (opts.maxPending !== undefined && pending >= opts.maxPending) return { reason: `${pending} leads are waiting for Kafka`, retryAfterS: 1 };
    if (opts.shedAfterMs === undefined) return null;
    let oldest = Infinity;
    for (const f of inFlight.values()) oldest = Math.min(oldest, f.startedAt);
    const waited = now() - oldest;
    return waited >= opts.shedAfterMs ? { reason: `Kafka has not acknowledged for ${Math.round(waited)} ms`, retryAfterS: Math.max(1, Math.ceil(opts.shedAfterMs / 1000)) } : null;
  }

  async function send(batch: Pending[]): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      const records = batch.flatMap((p) => p.records);
      const sending = (async () => {
        for (const chunk of chunkRecords(records, opts.limits)) await opts.producer.send(chunk);
      })();
      await Promise.race([
        sending,
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${opts.timeoutMs} ms`)), opts.timeoutMs);
        }),
      ]);
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    } finally {
      clearTimeout(timeout);
    }
  }

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const sent = send(batch);
    inFlight.set(sent, { startedAt: now(), leads: batch.length });
    void sent.finally(() => {
      inFlight.delete(sent);
      pending -= batch.length;
    });
  }

  return {
    overload,
    publish(event) {
      return new Promise<void>((resolve, reject) => {
        const over = overload();
        if (over) return reject(new OverloadedError(over));
        let records: EncodedRecord[];
        try {
          records = recordsForLead(event, opts.encoder, opts.topics);
        } catch (err) {
          reject(err as Error); // a lead that does not fit the schema: a bug in ingest's validation
          return;
        }
        queue.push({ records, resolve, reject });
        pending++;
        if (queue.length >= opts.maxBatch) flush();
        else timer ??= setTimeout(flush, opts.lingerMs);
      });
    },
    async close() {
      flush();
      await Promise.allSettled([...inFlight.keys()]);
    },
  };
}
