/**
 * Micro-batching for ingest: concurrent requests are gathered for a millisecond or two and
 * sent in one produce request (acks=all) with each lead's "received" event beside it, split to
 * fit the broker's limits. Each caller's promise settles when the broker has acknowledged its
 * records, so an HTTP 202 always means "durably in Kafka, and in the lead's history".
 * A produce that Kafka does not acknowledge within the deadline is a failure for the caller
 * (503, the vendor retries); the idempotent producer may still land it, which costs at most
 * a duplicate lead, never a lost one.
 */
import { eventOutputs } from '../history/events.js';
import type { RecordProducer } from '../kafka/batch-step.js';
import type { Encoder } from '../kafka/codec.js';
import { chunkRecords, type EncodedRecord, type ProduceLimits } from '../kafka/produce-limits.js';
import type { LeadEvent } from '../lead.js';

export interface LeadPublisher {
  publish(event: LeadEvent): Promise<void>;
  close(): Promise<void>;
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
  const inFlight = new Set<Promise<void>>();

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
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }

  return {
    publish(event) {
      return new Promise<void>((resolve, reject) => {
        let records: EncodedRecord[];
        try {
          records = recordsForLead(event, opts.encoder, opts.topics);
        } catch (err) {
          reject(err as Error); // a lead that does not fit the schema: a bug in ingest's validation
          return;
        }
        queue.push({ records, resolve, reject });
        if (queue.length >= opts.maxBatch) flush();
        else timer ??= setTimeout(flush, opts.lingerMs);
      });
    },
    async close() {
      flush();
      await Promise.allSettled([...inFlight]);
    },
  };
}
