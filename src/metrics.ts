/**
 * Prometheus metrics of a role process (prom-client), served on its admin port at /metrics.
 * Names follow Prometheus conventions: a `leadrouter_` prefix, base units (seconds, bytes),
 * `_total` on counters, and only bounded labels (stage, destination, outcome, topic, partition,
 * group, provider): never a lead id, a phone or a vendor lead id.
 *
 * One registry per process, created once; code that reports something imports `metrics` and
 * calls it. Nothing here does I/O.
 */
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'leadrouter_process_' });

const counter = (name: string, help: string, labelNames: string[]) => new client.Counter({ name, help, labelNames, registers: [registry] });
const gauge = (name: string, help: string, labelNames: string[], collect?: (this: client.Gauge) => void) =>
  new client.Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });

/**
 * What each delay stage holds, read when /metrics is scraped. Computed on every settle, the
 * earliest due time cost a pass over everything held per record: with 20,000 quiet-hours texts
 * held, a third of the deliver process's CPU (`npm start` at US night, --cpu-prof).
 */
const delayStages = new Map<string, () => { held: number; nextDueMs: number }>();
export function reportDelayStage(stage: string, read: (() => { held: number; nextDueMs: number }) | null): void {
  if (read) delayStages.set(stage, read);
  else delayStages.delete(stage);
}
function collectDelay(this: client.Gauge, pick: (r: { held: number; nextDueMs: number }) => number): void {
  this.reset();
  for (const [stage, read] of delayStages) this.set({ stage }, pick(read()));
}
const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) => new client.Histogram({ name, help, labelNames, buckets, registers: [registry] });

/** From 5 ms to 5 minutes: a lead delivered at once, and one that waited out a backup retry. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export const metrics = {
  stageIn: counter('leadrouter_stage_records_in_total', 'Records a stage read and decoded.', ['stage']),
  stageOut: counter('leadrouter_stage_records_out_total', 'Records a stage produced, by topic.', ['stage', 'topic']),
  stageFailed: counter('leadrouter_stage_records_failed_total', 'Records a stage could not handle: poison bytes, dead-lettered leads, handler errors.', ['stage', 'reason']),
  stageRetries: counter('leadrouter_stage_transient_retries_total', 'Batches waiting out a transient failure (registry, broker, store).', ['stage', 'step']),
  batchSeconds: histogram('leadrouter_stage_batch_duration_seconds', 'Time to handle one fetched batch, decode to commit.', ['stage'], [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  deliveries: counter('leadrouter_delivery_outcomes_total', 'Outcome of each delivery attempt per destination: delivered, retry, dead, suppressed, duplicate, deferred, fallback.', ['destination', 'outcome']),
  deliveryLatency: histogram('leadrouter_delivery_latency_seconds', 'Time from ingest accepting a lead (receivedAt) to its delivery, per destination.', ['destination'], LATENCY_BUCKETS),
  produceSeconds: histogram('leadrouter_produce_duration_seconds', 'Time for one produce request to be acknowledged by all in-sync replicas (acks=all).', [], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]),
  kafkaRequests: counter('leadrouter_kafka_requests_total', 'Requests this process sent to Kafka brokers, by API (Fetch, Produce, OffsetCommit, Heartbeat, ...) and by the stage whose consumer sent them ("producer" for the process\'s producer).', ['stage', 'api']),
  produceRecords: counter('leadrouter_produce_records_total', 'Records produced (acknowledged).', []),
  produceResends: counter('leadrouter_produce_resends_total', 'Sends KafkaJS acknowledged without some of their partitions, whose records were sent again (leadership moved mid-send).', []),
  consumerLag: gauge('leadrouter_consumer_lag_records', 'Records on a partition not yet committed by the group (high watermark - committed offset).', ['group', 'topic', 'partition']),
  oldestWaiting: gauge('leadrouter_consumer_oldest_waiting_seconds', 'How long the group has had records waiting without its commit point moving (a lower bound of the oldest unprocessed lead\'s age).', ['group']),
  circuitOpen: gauge('leadrouter_sms_provider_circuit_open', '1 while a provider\'s circuit is open (it is skipped, texts fall back).', ['provider']),
  verifierLookups: gauge('leadrouter_email_verifier_lookups', 'Email verifier answers since start, by source (call, cache).', ['source']),
  verifierTimeouts: gauge('leadrouter_email_verifier_budget_timeouts', 'Email verifications that ran out of their budget since start.', []),
  retryThrottled: counter('leadrouter_retry_throttled_seconds_total', 'Time a retry stage\'s jobs waited for the retry quota (RETRY_PER_SECOND) before reaching their destination.', ['stage']),
  delayHeld: gauge('leadrouter_delay_held_records', 'Records a delay stage (backup, quiet-hours release) holds until they are due.', ['stage'], function () {
    collectDelay.call(this, (r) => r.held);
  }),
  delayNextDue: gauge('leadrouter_delay_next_due_timestamp_seconds', 'When the next held record is due (Unix time), 0 when none is held.', ['stage'], function () {
    collectDelay.call(this, (r) => r.nextDueMs / 1000);
  }),
  ready: gauge('leadrouter_role_ready', '1 while the role process is ready (every stage in its group, none stalled or waiting).', ['role']),
  ingestAnswers: counter('leadrouter_ingest_responses_total', 'Ingest answers to POST /v1/leads by status code.', ['status']),
};

/** What a destination string is, bounded for a label: "primary:buyer-us" stays; anything odd is "other". */
export function destinationLabel(destination: string | undefined | null): string {
  return destination && /^(primary|sms|search):[\w.-]{1,64}$/.test(destination) ? destination : 'other';
}

export async function metricsText(): Promise<[string, string]> {
  return [registry.contentType, await registry.metrics()];
}
