/** A sink stage: deliver the batch through one Sink; outcomes become backup / DLQ records. */
import type { Output } from '../kafka/stage-runner.js';
import { settle, settleContext } from '../sinks/outcomes.js';
import type { Sink } from '../sinks/sink.js';
import type { StageSpec } from '../topology.js';
import { startFromSpec, type StageDeps } from './context.js';

export function startSinkStage(deps: StageDeps, spec: StageSpec, sink: Sink) {
  return startFromSpec(deps, spec, {
    async handle(leads) {
      const outcomes = await sink.deliver(leads.map((l) => l.event));
      const ctx = settleContext(deps, spec.name);
      const outputs: Output[] = [];
      leads.forEach((lead, i) => {
        const outcome = outcomes[i] ?? { status: 'retry' as const, error: 'sink returned no outcome' };
        const settled = settle(lead, outcome, ctx);
        outputs.push(...settled.outputs);
        for (const h of settled.history) deps.history.record(h);
      });
      return { outputs };
    },
  });
}
