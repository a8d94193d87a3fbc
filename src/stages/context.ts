/**
 * What every stage of a process shares: one Kafka client, one durable producer, the encoders of
 * the registered schemas, the broker's produce limits, the topology, config, logger and clock.
 * A lead stage is a handler plus this: the batch step does the rest (src/kafka/batch-step.ts).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { RecordResult, RecordProducer, StageContext, Consumed } from '../kafka/stage-contract.js';
import type { Kafka } from '../kafka/client.js';
import type { Encoder, LeadCodec } from '../kafka/codec.js';
import { runKafkaStage } from '../kafka/kafkajs-stage.js';
import type { RunningStage } from '../kafka/running-stage.js';
import type { ProduceLimits } from '../kafka/produce-limits.js';
import type { LeadEvent } from '../lead.js';
import type { StageSpec, Topology } from '../topology.js';
import { deadLetter, withEvents } from './outcomes.js';
import { JOB_SIZE } from '../kafka/pipeline.js';

export interface StageDeps {
  config: Config;
  topology: Topology;
  kafka: Kafka;
  producer: RecordProducer;
  encoder: Encoder;
  leadCodec: LeadCodec;
  limits: ProduceLimits;
  log: Logger;
  now: () => number;
  /** A stage's consumer stopped for good: the process should stop (and be restarted). */
  onCrash(stage: string, err: Error): void;
}

export interface LeadStageHandler {
  handle(leads: Consumed<LeadEvent>[], ctx: StageContext<LeadEvent>, abandoned: () => boolean): Promise<RecordResult[]>;
  maxPending?: number;
  /** Keep fetching while batches are worked on (deliver stages): src/kafka/pipeline.ts. */
  pipelined?: boolean;
  /** Records worked and committed at a time within a fetched batch (not pipelined stages). */
  jobSize?: number;
  /** Fetch settings of its own (default: the process's KAFKA_FETCH_*). */
  fetch?: { minBytes: number; maxWaitMs: number };
  onRebalance?(): void;
}

/**
 * Records a lead stage works and commits at a time, as deliver stages do (JOB_SIZE). After a
 * backlog a fetch holds thousands of leads; produced as one job, a rebalance in the middle (a
 * second enrich process joining) left all of them uncommitted, and the new owner produced them
 * again: 17,557 duplicate buyer deliveries in a 50,000-lead backlog run with no fault but the stop.
 * Jobs of 500 still held the first output back: six partitions' jobs are worked at once, so
 * nothing left enrich before some 3,000 leads were enriched, and the second process's join threw
 * away what the first had done (chaos, enrich back from its stop: 2.6 s of work lost, first lead
 * enriched 12.4 s after the restart).
 */
export const LEAD_JOB_SIZE = JOB_SIZE;

/** Runs a stage over LeadEvent records from its topology spec with the process-wide settings. */
export function startLeadStage(deps: StageDeps, spec: StageSpec, handler: LeadStageHandler): Promise<RunningStage> {
  return startStage(deps, spec, {
    decode: (b) => deps.leadCodec.decode(b),
    handle: handler.handle,
    deadLetter: (lead, reason) => withEvents(deadLetter(lead, reason, { stage: spec.name, topology: deps.topology, now: deps.now() }), deps.topology),
  }, { jobSize: LEAD_JOB_SIZE, ...handler });
}

export function startStage<T>(
  deps: StageDeps,
  spec: StageSpec,
  logic: import('../kafka/stage-contract.js').StageLogic<T>,
  extra: { maxPending?: number; pipelined?: boolean; jobSize?: number; fetch?: { minBytes: number; maxWaitMs: number }; onRebalance?(): void } = {},
): Promise<RunningStage> {
  if (!spec.group) throw new Error(`stage ${spec.name} has no consumer group`);
  const { env } = deps.config;
  return runKafkaStage<T>({
    name: spec.name,
    groupId: spec.group,
    topics: spec.inputs,
    kafka: deps.kafka,
    producer: deps.producer,
    encoder: deps.encoder,
    limits: deps.limits,
    logic,
    log: deps.log,
    poisonTopic: deps.topology.topics.poison,
    partitionsConsumedConcurrently: env.PARTITIONS_CONCURRENTLY,
    sessionTimeoutMs: env.KAFKA_SESSION_TIMEOUT_MS,
    fetchMaxWaitMs: extra.fetch?.maxWaitMs ?? env.KAFKA_FETCH_MAX_WAIT_MS,
    fetchMinBytes: extra.fetch?.minBytes ?? env.KAFKA_FETCH_MIN_BYTES,
    fetchMaxBytesPerPartition: env.KAFKA_FETCH_MAX_BYTES_PER_PARTITION,
    commitIntervalMs: env.KAFKA_COMMIT_INTERVAL_MS,
    ...(extra.maxPending ? { maxPending: extra.maxPending } : {}),
    ...(extra.pipelined ? { pipelined: true } : {}),
    ...(extra.jobSize ? { jobSize: extra.jobSize } : {}),
    ...(extra.onRebalance ? { onRebalance: extra.onRebalance } : {}),
    onCrash: (err) => deps.onCrash(spec.name, err),
  });
}
