/**
 * What a consuming stage is made of, with no Kafka client in it: the records it reads (RawRecord,
 * then Consumed once decoded), what it answers per record (RecordResult: outputs to produce, or
 * deferred), the logic it implements (StageLogic) and the producer it writes through
 * (RecordProducer). Stages, sinks' settle code and tools import these; how one batch is worked
 * over them is src/kafka/batch-step.ts.
 */
import type { Logger } from 'pino';
import type { EncodedRecord } from './produce-limits.js';

export interface RawRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface Consumed<T> {
  value: T;
  /** The bytes it was decoded from (for dead-lettering where no schema fits). */
  raw: Buffer | null;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  headers: Record<string, string>;
}

/** A record to produce (encoded with the topic's schema) before the input offset may be committed. */
export interface Output {
  topic: string;
  key: string;
  value: unknown;
  headers?: Record<string, string>;
}

export type RecordResult = { outputs: Output[] } | { deferred: true };

export interface StageContext<T> {
  /** Finishes a deferred record: produces its outputs, then lets its offset be committed. */
  complete(record: Consumed<T>, outputs: Output[], stillOwned: () => boolean): Promise<void>;
  log: Logger;
}

export interface StageLogic<T> {
  decode(buffer: Buffer | null): Promise<T>;
  /**
   * One result per record, in order. Should not throw for a destination's fault. `abandoned()`
   * turns true when the work no longer matters (the group is rebalancing, the process stopping):
   * a long handler may then stop early by throwing Abandoned, having recorded what it already did,
   * so the rebalance is not held up by it (every partition of an eager-rebalancing group waits).
   */
  handle(records: Consumed<T>[], ctx: StageContext<T>, abandoned: () => boolean): Promise<RecordResult[]>;
  /** What stands for a record whose own outputs cannot be produced or whose handling failed. */
  deadLetter(record: Consumed<T>, reason: string): Output[];
}

/** One produce request with acks=all. Throws RecordTooLargeError when the broker refuses its size. */
export interface RecordProducer {
  send(records: EncodedRecord[]): Promise<void>;
}

export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
}
