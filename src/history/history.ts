/**
 * Lead history in MongoDB: one document per lead, `_id` = leadId, with every hop as an event
 * (received, enriched, routed, rejected, delivered / failed / retried / dead per destination).
 * Events are buffered and written in one unordered bulkWrite per flush, off the request and
 * delivery paths: history is for people and audits, so a slow database must never hold a lead.
 * If a flush fails the events stay buffered (up to a cap) and go out with the next one.
 */
import { MongoClient, type AnyBulkWriteOperation, type Collection, type Db } from 'mongodb';
import type { Logger } from 'pino';

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
  | 'fallback'
  | 'reply'
  | 'duplicate'
  | 'suppressed'
  | 'status';

export interface HistoryEvent {
  leadId: string;
  type: HistoryEventType;
  at: number;
  stage: string;
  destination?: string;
  attempt?: number;
  detail?: string;
  /** Summary fields stored on the document the first time the lead is seen. */
  summary?: Record<string, unknown>;
}

export interface LeadHistoryDoc {
  _id: string;
  events: Omit<HistoryEvent, 'leadId' | 'summary'>[];
  [field: string]: unknown;
}

export interface History {
  /** The database, for other stores that live beside the history (sent texts, receipts). */
  db: Db;
  record(event: HistoryEvent): void;
  flush(): Promise<void>;
  get(leadId: string): Promise<LeadHistoryDoc | null>;
  close(): Promise<void>;
}

const MAX_BUFFERED = 200_000;

export async function connectHistory(url: string, log: Logger, flushMs: number): Promise<History> {
  // Small pool, and a time limit on every operation: FerretDB on SQLite has one writer, and a
  // stuck operation must surface as an error (retried) rather than hold a stage forever.
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, maxPoolSize: 4, timeoutMS: 15_000 });
  try {
    await client.connect();
    await client.db().command({ ping: 1 });
  } catch (err) {
    throw new Error(`MongoDB at ${url} is not reachable: ${(err as Error).message}`);
  }
  const leads: Collection<LeadHistoryDoc> = client.db().collection('leads');
  let buffer: HistoryEvent[] = [];
  let flushing: Promise<void> | null = null;

  async function writeOnce(): Promise<void> {
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    const byLead = new Map<string, HistoryEvent[]>();
    for (const e of batch) {
      const list = byLead.get(e.leadId) ?? [];
      list.push(e);
      byLead.set(e.leadId, list);
    }
    const ops: AnyBulkWriteOperation<LeadHistoryDoc>[] = [...byLead].map(([leadId, events]) => {
      const summary = Object.assign({}, ...events.map((e) => e.summary ?? {})) as Record<string, unknown>;
      return {
        updateOne: {
          filter: { _id: leadId },
          // Typed loosely: the driver's UpdateFilter typing cannot see through the index signature.
          update: {
            $push: { events: { $each: events.map(({ leadId: _l, summary: _s, ...rest }) => rest) } },
            $set: { updatedAt: Date.now(), ...summary },
          } as Record<string, unknown>,
          upsert: true,
        },
      };
    });
    try {
      await leads.bulkWrite(ops, { ordered: false });
    } catch (err) {
      log.warn({ err: (err as Error).message, events: batch.length }, 'history write failed; will retry with the next flush');
      buffer = batch.concat(buffer).slice(-MAX_BUFFERED);
    }
  }

  const flush = (): Promise<void> => {
    flushing ??= writeOnce().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    db: client.db(),
    record(event) {
      buffer.push(event);
      if (buffer.length > MAX_BUFFERED) buffer.splice(0, buffer.length - MAX_BUFFERED);
    },
    flush,
    async get(leadId) {
      return leads.findOne({ _id: leadId });
    },
    async close() {
      clearInterval(timer);
      await flush();
      if (buffer.length > 0) await flush();
      await client.close();
    },
  };
}
