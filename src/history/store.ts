/**
 * The history store: one document per event, `_id` = eventId, written with unordered bulk
 * inserts where a duplicate key means "already written". Nothing is ever updated, so writers
 * never race (the old one-document-per-lead upsert + $push raced on every lead: E11000 on real
 * MongoDB, a wedged FerretDB on SQLite). Reads go by an index on (leadId, at).
 *
 * Retention: a TTL index where the server supports one (MongoDB), and in every case a purge of
 * events older than the retention that the history sink runs (FerretDB 1.x has no TTL indexes).
 * Every call has a time limit, so a stuck server is an error that is retried, never a hang
 * (client-side: see src/mongo-ops.ts for why never maxTimeMS).
 */
import { MongoClient, type Collection, type Db } from 'mongodb';
import { RetriableError, messageOf } from '../errors.js';
import { FIRST_BATCH, deadline } from '../mongo-ops.js';
import type { HistoryEventRecord } from './events.js';

export interface StoredEvent {
  _id: string;
  leadId: string;
  type: string;
  at: Date;
  stage: string;
  destination: string | null;
  attempt: number | null;
  detail: string | null;
  fields: Record<string, string>;
}

export interface HistoryStore {
  db: Db;
  /** Writes events; those already there are skipped. Throws RetriableError when the store is unwell. */
  write(events: HistoryEventRecord[]): Promise<{ inserted: number; duplicates: number }>;
  /** A lead's events, oldest first. */
  forLead(leadId: string): Promise<StoredEvent[]>;
  /** Deletes events older than the retention; returns how many. */
  purge(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}

export const EVENTS_COLLECTION = 'lead_events';
/**
 * A write waits long before it is called failed: the batch would be retried, and a retry issued
 * while the first attempt still runs in the server doubles the work and makes every document a
 * duplicate (each then inserted alone): a slow store turned into a stuck one in a chaos run.
 */
const WRITE_TIMEOUT_MS = 120_000;
const READ_TIMEOUT_MS = 15_000;
const WRITE_CHUNK = 100;

/** Connects; one readable error when the server is not there. */
export async function connectMongo(url: string, opts: { maxPoolSize?: number } = {}): Promise<MongoClient> {
  // Small pool: the history sink writes in bulk; readers (ingest) do one query per request.
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000, connectTimeoutMS: 5000, socketTimeoutMS: 30_000, maxPoolSize: opts.maxPoolSize ?? 8 });
  try {
    await client.connect();
    await client.db().command({ ping: 1 });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new Error(`MongoDB at ${url} is not reachable: ${messageOf(err)}`);
  }
  return client;
}

export async function openHistoryStore(url: string, opts: { ttlDays: number; collection?: string }): Promise<HistoryStore> {
  const client = await connectMongo(url);
  const db = client.db();
  const events: Collection<StoredEvent> = db.collection(opts.collection ?? EVENTS_COLLECTION);
  await ensureIndexes(events, opts.ttlDays);
  return {
    db,
    async write(records) {
      let inserted = 0;
      let duplicates = 0;
      // In chunks: FerretDB answers a chunk holding one duplicate by inserting each of its
      // documents in a transaction of its own; a small chunk keeps that cost small.
      for (let i = 0; i < records.length; i += WRITE_CHUNK) {
        const r = await writeChunk(records.slice(i, i + WRITE_CHUNK));
        inserted += r.inserted;
        duplicates += r.duplicates;
      }
      return { inserted, duplicates };
    },
    async forLead(leadId) {
      return deadline('history read', READ_TIMEOUT_MS, events.find({ leadId }, { batchSize: FIRST_BATCH, limit: FIRST_BATCH }).sort({ at: 1, _id: 1 }).toArray());
    },
    async purge(olderThan) {
      const res = await deadline('history purge', 120_000, events.deleteMany({ at: { $lt: olderThan } }));
      return res.deletedCount;
    },
    close: () => client.close(),
  };

  async function writeChunk(records: HistoryEventRecord[]): Promise<{ inserted: number; duplicates: number }> {
  if (records.length === 0) return { inserted: 0, duplicates: 0 };
  const docs: StoredEvent[] = records.map((r) => ({ _id: r.eventId, leadId: r.leadId, type: r.type, at: new Date(r.at), stage: r.stage, destination: r.destination, attempt: r.attempt, detail: r.detail, fields: r.fields }));
  try {
    const res = await deadline('history write', WRITE_TIMEOUT_MS, events.insertMany(docs, { ordered: false }));
    return { inserted: res.insertedCount, duplicates: 0 };
  } catch (err) {
    const e = err as { code?: number; writeErrors?: { code?: number }[]; insertedCount?: number; result?: { insertedCount?: number } };
    const writeErrors = e.writeErrors ?? [];
    const onlyDuplicates = (e.code === 11000 || writeErrors.length > 0) && writeErrors.every((w) => w.code === 11000);
    if (onlyDuplicates) {
      const dups = Math.max(writeErrors.length, 1);
      return { inserted: records.length - dups, duplicates: dups };
    }
    if (err instanceof RetriableError) throw err;
    throw new RetriableError(`history write: ${messageOf(err)}`, { cause: err });
  }
  }
}

async function ensureIndexes(events: Collection<StoredEvent>, ttlDays: number): Promise<void> {
  await events.createIndex({ leadId: 1, at: 1 }, { name: 'leadId_at' });
  // Operators find a lead by the vendor's own id (dashboard search); best effort where unsupported.
  await events.createIndex({ 'fields.vendorLeadId': 1 }, { name: 'vendorLeadId' }).catch(() => undefined);
  try {
    await events.createIndex({ at: 1 }, { name: 'at_ttl', expireAfterSeconds: ttlDays * 86_400 });
  } catch {
    // No TTL support (FerretDB 1.x): the hourly purge does the job. No plain index on `at` then:
    // FerretDB cannot use one for a range anyway, and every index costs on every insert.
  }
}
