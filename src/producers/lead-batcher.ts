/**
 * Micro-batching for ingest: concurrent requests are gathered for a millisecond or two and
 * sent in one produce call (acks=all). Each caller's promise settles when the broker has
 * acknowledged its record, so an HTTP 202 always means "durably in Kafka".
 */
import type { Producer } from 'kafkajs';
import type { LeadEvent } from '../lead.js';
import type { LeadCodec } from '../kafka/codec.js';

export interface LeadPublisher {
  publish(event: LeadEvent): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  event: LeadEvent;
  resolve: () => void;
  reject: (err: Error) => void;
}

export function createLeadBatcher(opts: { producer: Producer; codec: LeadCodec; topic: string; maxBatch: number; lingerMs: number }): LeadPublisher {
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | null = null;
  const inFlight = new Set<Promise<void>>();

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    const sent = (async () => {
      try {
        const messages = batch.map((p) => ({ key: p.event.leadId, value: opts.codec.encode(opts.topic, p.event) }));
        await opts.producer.send({ topic: opts.topic, acks: -1, messages });
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err as Error);
      }
    })();
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }

  return {
    publish(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject });
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
