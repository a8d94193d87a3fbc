/**
 * The KafkaJS consumer every stage runs on, configured for a stage that must never stop for good:
 * timeouts from the session timeout, retries that end in a restart rather than a dead consumer.
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';

export interface StageConsumerOptions {
  groupId: string;
  sessionTimeoutMs: number;
  fetchMaxWaitMs: number;
  /** Bytes a fetch waits for (up to fetchMaxWaitMs) before returning. Default 1. */
  fetchMinBytes?: number;
  /** Most bytes a fetch brings per partition (KafkaJS default 1 MB). */
  fetchMaxBytesPerPartition?: number;
}

/** How long the coordinator waits for every member to rejoin a rebalance. */
export const rebalanceTimeoutMs = (sessionTimeoutMs: number) => Math.max(60_000, sessionTimeoutMs * 2);

export function createStageConsumer(kafka: Kafka, opts: StageConsumerOptions, log: Logger): Consumer {
  return kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: opts.sessionTimeoutMs,
    heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
    rebalanceTimeout: rebalanceTimeoutMs(opts.sessionTimeoutMs),
    maxWaitTimeInMs: opts.fetchMaxWaitMs,
    minBytes: opts.fetchMinBytes ?? 1,
    ...(opts.fetchMaxBytesPerPartition ? { maxBytesPerPartition: opts.fetchMaxBytesPerPartition, maxBytes: opts.fetchMaxBytesPerPartition * 8 } : {}),
    allowAutoTopicCreation: false,
    // A broker away for a while (killed, restarting, a leader moving) exhausts KafkaJS's retries
    // and, by default, stops the consumer for good. Restart it instead: the outage is waited out
    // in this process (readiness says "not in its consumer group" meanwhile), not by a restart.
    retry: {
      retries: 10,
      initialRetryTime: 300,
      // Its last delay is also how long KafkaJS waits before restarting the consumer (above).
      maxRetryTime: 3000,
      restartOnFailure: async (err: Error) => {
        log.warn({ err: err.message }, 'consumer failed; KafkaJS restarts it');
        return true;
      },
    },
  });
}
