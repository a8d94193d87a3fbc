/**
 * A deliver stage: one destination's topic → its Sink; each outcome becomes events and backup /
 * DLQ / fallback records. Its retry twin (spec.retry) reads the destination's retry topic with the
 * same Sink, in jobs that first take their leads from the retry quota (src/stages/retry-quota.ts).
 */
import type { Sink } from '../sinks/sink.js';
import type { StageSpec } from '../topology.js';
import { startLeadStage, type StageDeps } from './context.js';
import { settle, withEvents } from './outcomes.js';
import { JOB_SIZE } from '../kafka/pipeline.js';
import { metrics } from '../metrics.js';
import { createRetryQuota } from './retry-quota.js';

export function startSinkStage(deps: StageDeps, spec: StageSpec, sink: Sink) {
  const { env } = deps.config;
  // Real time, not the business clock: a quota is a pace, and tests move the business clock by hours.
  const quota = spec.retry ? createRetryQuota(env.RETRY_PER_SECOND) : null;
  return startLeadStage(deps, spec, {
    // A slow destination holds only its own leads, not every partition of the process. Not SMS:
    // after a rebalance, pipelined work of the old assignment runs on while the new owner redoes
    // it, which buyers (webhook-id) and the index (_id) absorb but a person being texted does not
    // (chaos runs texted people twice): SMS stages keep the batch in hand, one owner at a time.
    pipelined: sink.kind !== 'sms',
    // The same job size as pipelined stages (src/kafka/pipeline.ts): an SMS job's store writes
    // and sends must fit in its send window, however large the fetch after a backlog. A retry
    // job is at most a second of the quota, and a retry stage fetches at most two seconds ahead.
    jobSize: quota ? Math.min(JOB_SIZE, env.RETRY_PER_SECOND) : JOB_SIZE,
    maxPending: quota ? Math.min(env.SINK_MAX_IN_FLIGHT, 2 * env.RETRY_PER_SECOND) : env.SINK_MAX_IN_FLIGHT,
    // Mostly idle: a second's wait costs a retry nothing and keeps idle fetches to one a second.
    ...(quota ? { fetch: { minBytes: 1, maxWaitMs: Math.max(env.KAFKA_FETCH_MAX_WAIT_MS, 1000) } } : {}),
    async handle(leads, _ctx, abandoned) {
      if (quota) metrics.retryThrottled.inc({ stage: spec.name }, (await quota.take(leads.length, abandoned)) / 1000);
      // A Sink answers for each lead; it throws only when it cannot know (its own store is
      // down): the batch step then waits and tries the batch again; or when told the batch no
      // longer matters (Abandoned): the group's rebalance need not wait for the rest of it.
      const outcomes = await sink.deliver(leads.map((l) => l.value), { abandoned });
      const ctx = { stage: spec.name, policy: deps.config.router.retry, topology: deps.topology, now: deps.now() };
      return leads.map((lead, i) => ({ outputs: withEvents(settle(lead, outcomes[i] ?? { status: 'retry', error: 'sink returned no outcome' }, ctx), deps.topology) }));
    },
  });
}
