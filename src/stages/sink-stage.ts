/** A deliver stage: one destination's topic → its Sink; each outcome becomes events and backup / DLQ / fallback records. */
import type { Sink } from '../sinks/sink.js';
import type { StageSpec } from '../topology.js';
import { startLeadStage, type StageDeps } from './context.js';
import { settle, withEvents } from './outcomes.js';
import { JOB_SIZE } from '../kafka/pipeline.js';

export function startSinkStage(deps: StageDeps, spec: StageSpec, sink: Sink) {
  return startLeadStage(deps, spec, {
    // A slow destination holds only its own leads, not every partition of the process. Not SMS:
    // after a rebalance, pipelined work of the old assignment runs on while the new owner redoes
    // it, which buyers (webhook-id) and the index (_id) absorb but a person being texted does not
    // (chaos runs texted people twice): SMS stages keep the batch in hand, one owner at a time.
    pipelined: sink.kind !== 'sms',
    // The same job size as pipelined stages (src/kafka/pipeline.ts): an SMS job's store writes
    // and sends must fit in its send window, however large the fetch after a backlog.
    jobSize: JOB_SIZE,
    maxPending: deps.config.env.SINK_MAX_IN_FLIGHT,
    async handle(leads, _ctx, abandoned) {
      // A Sink answers for each lead; it throws only when it cannot know (its own store is
      // down): the batch step then waits and tries the batch again; or when told the batch no
      // longer matters (Abandoned): the group's rebalance need not wait for the rest of it.
      const outcomes = await sink.deliver(leads.map((l) => l.value), { abandoned });
      const ctx = { stage: spec.name, policy: deps.config.router.retry, topology: deps.topology, now: deps.now() };
      return leads.map((lead, i) => ({ outputs: withEvents(settle(lead, outcomes[i] ?? { status: 'retry', error: 'sink returned no outcome' }, ctx), deps.topology) }));
    },
  });
}
