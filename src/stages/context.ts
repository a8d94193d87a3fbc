/**
 * What every stage of a process shares: one Kafka client, one durable producer, the codec with
 * the registered schemas, the lead history, the topology, config and logger.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { History } from '../history/history.js';
import type { LeadCodec } from '../kafka/codec.js';
import { runStage, type RunningStage, type StageRunnerOptions } from '../kafka/stage-runner.js';
import type { StageSpec, Topology } from '../topology.js';

export interface StageDeps {
  config: Config;
  topology: Topology;
  kafka: Kafka;
  producer: Producer;
  codec: LeadCodec;
  history: History;
  log: Logger;
  now: () => number;
}

/** Runs a stage from its topology spec with the process-wide settings. */
export function startFromSpec(deps: StageDeps, spec: StageSpec, extra: Pick<StageRunnerOptions, 'handle' | 'maxPending' | 'onRebalance'>): Promise<RunningStage> {
  if (!spec.group) throw new Error(`stage ${spec.name} has no consumer group`);
  return runStage({
    name: spec.name,
    groupId: spec.group,
    topics: spec.inputs,
    kafka: deps.kafka,
    producer: deps.producer,
    codec: deps.codec,
    log: deps.log,
    poisonTopic: deps.topology.topics.poison,
    partitionsConsumedConcurrently: deps.config.env.PARTITIONS_CONCURRENTLY,
    sessionTimeoutMs: deps.config.env.KAFKA_SESSION_TIMEOUT_MS,
    ...extra,
  });
}
