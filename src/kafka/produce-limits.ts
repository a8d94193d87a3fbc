/**
 * Produce requests that the broker always accepts, however large the fetched batch was.
 *
 * The broker refuses a record batch (the records of one partition in one request) above the
 * topic's `max.message.bytes` (default: the broker's `message.max.bytes`, ~1 MiB) with
 * MESSAGE_TOO_LARGE, a non-retriable error. A stage that turns a fetched backlog of 20,000 leads
 * into one sendBatch would hit it on every restart and never move again. So outputs are split
 * into requests no larger than the smallest limit among their topics (a partition's batch is
 * then below its limit whatever the partitioner does), and at most `maxRecords` records.
 * A record too large on its own cannot be produced at all: the caller dead-letters its lead.
 */

export interface EncodedRecord {
  topic: string;
  key: string | Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
}

export interface ProduceLimits {
  /** The largest record batch the broker accepts on this topic, in bytes. */
  maxBatchBytes(topic: string): number;
  /** Most records in one produce request. */
  maxRecords: number;
}

/** Bytes a record batch has on top of its records, and a generous per-record framing allowance. */
const BATCH_OVERHEAD = 61;
const RECORD_OVERHEAD = 32;
/** Room for what the estimate does not see (varint widths, a header we did not count). */
const SAFETY = 0.9;

export function recordBytes(r: EncodedRecord): number {
  let n = r.value.length + RECORD_OVERHEAD + (r.key === null ? 0 : Buffer.byteLength(r.key));
  for (const [k, v] of Object.entries(r.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

/** The budget for one request holding records of `topic`: what its batch may hold, minus framing. */
export function budgetFor(limits: ProduceLimits, topic: string): number {
  return Math.floor(limits.maxBatchBytes(topic) * SAFETY) - BATCH_OVERHEAD;
}

export function fitsAlone(limits: ProduceLimits, r: EncodedRecord): boolean {
  return recordBytes(r) <= budgetFor(limits, r.topic);
}

/**
 * Splits records (in order) into requests within the limits. Every record must fit alone (check
 * with fitsAlone first). Order within a partition is kept: chunks go out one after the other.
 */
export function chunkRecords(records: EncodedRecord[], limits: ProduceLimits): EncodedRecord[][] {
  const chunks: EncodedRecord[][] = [];
  let current: EncodedRecord[] = [];
  let bytes = 0;
  let budget = Infinity;
  for (const r of records) {
    const size = recordBytes(r);
    const nextBudget = Math.min(budget, budgetFor(limits, r.topic));
    if (current.length > 0 && (bytes + size > nextBudget || current.length >= limits.maxRecords)) {
      chunks.push(current);
      current = [];
      bytes = 0;
      budget = Infinity;
    }
    current.push(r);
    bytes += size;
    budget = Math.min(budget, budgetFor(limits, r.topic));
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Kafka's defaults, for when the broker cannot be asked (tests, a broker that hides its configs). */
export const DEFAULT_MAX_BATCH_BYTES = 1_048_588;

export function fixedLimits(maxBatchBytes = DEFAULT_MAX_BATCH_BYTES, maxRecords = 1000): ProduceLimits {
  return { maxBatchBytes: () => maxBatchBytes, maxRecords };
}
