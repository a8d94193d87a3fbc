/**
 * What a consuming stage is started with (runKafkaStage in src/kafka/kafkajs-stage.ts): its
 * consumer's settings, what it produces through and encodes with, its logic, and the knobs that
 * bound its work in hand. Kept apart so the adapter file is about behaviour, not options.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Encoder } from './codec.js';
import type { StageConsumerOptions } from './kafkajs-consumer.js';
import type { ProduceLimits } from './produce-limits.js';
import type { RecordProducer, StageLogic } from './stage-contract.js';

export interface KafkaStageOptions<T> extends StageConsumerOptions {
  name: string;
  topics: string[];
  kafka: Kafka;
  producer: RecordProducer;
  encoder: Encoder;
  limits: ProduceLimits;
  logic: StageLogic<T>;
  log: Logger;
  poisonTopic: string;
  partitionsConsumedConcurrently: number;
  /** Pause fetching while this many records are unfinished (deferred, or in flight when pipelined). */
  maxPending?: number;
  /**
   * Work on batches in the background and keep fetching (src/kafka/pipeline.ts): for deliver
   * stages, whose batches wait on destinations. Needs maxPending, the bound on work in flight.
   */
  pipelined?: boolean;
  /** Records worked and committed at a time within a fetched batch (src/kafka/batch-step.ts). */
  jobSize?: number;
  /** Batch path: commits gathered and sent at most this often (0: every batch's at once). */
  commitIntervalMs?: number;
  /** After a rebalance: deferred work for lost partitions will be redone by their new owner. */
  onRebalance?(): void;
  /** The consumer stopped for good; the process should stop and be restarted. */
  onCrash(err: Error): void;
  /** For tests: when the consumer's last sign of life may be before it counts as stalled. */
  stallAfterMs?: number;
  /** Out of its consumer group, or with no fetch or heartbeat, this long counts as a crash (default: 4 session timeouts, at least 2 min). */
  outOfGroupCrashMs?: number;
  /** How long start-up waits for a broker that is away before failing (default 30 s). */
  brokerWaitMs?: number;
  now?: () => number;
}
