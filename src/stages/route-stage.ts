/** Route: leads.enriched → one record per destination (or leads.rejected), from the rules. */
import type { LeadEvent } from '../lead.js';
import type { Output } from '../kafka/stage-runner.js';
import { decideRoute, deliveryFor, type RoutingConfig } from '../processors/route/route.js';
import type { Topology, StageSpec } from '../topology.js';
import type { HistoryEvent } from '../history/history.js';
import { startFromSpec, type StageDeps } from './context.js';

export function routeLead(event: LeadEvent, config: RoutingConfig, topology: Topology, now: number): { outputs: Output[]; history: HistoryEvent[] } {
  const decision = decideRoute(event, config);
  const hops = [...event.hops, 'route'];
  if (decision.kind === 'rejected') {
    return {
      outputs: [{ topic: topology.topics.rejected, key: event.leadId, event: { ...event, hops, rejection: { reason: decision.reason, stage: 'route', at: now } } }],
      history: [{ leadId: event.leadId, type: 'rejected', at: now, stage: 'route', detail: decision.reason }],
    };
  }
  const outputs: Output[] = decision.deliveries.map((d) => ({
    topic: d.kind === 'primary' ? topology.topics.primary : d.kind === 'search' ? topology.topics.search : topology.topics.sms[d.target]!,
    key: d.key,
    event: { ...event, hops, delivery: deliveryFor(d, decision.rule, now) },
  }));
  const detail = [`rule ${decision.rule} → ${decision.deliveries.map((d) => d.destination).join(', ') || 'nothing'}`, ...decision.skipped].join('; ');
  return { outputs, history: [{ leadId: event.leadId, type: 'routed', at: now, stage: 'route', detail }] };
}

export function startRouteStage(deps: StageDeps, spec: StageSpec) {
  return startFromSpec(deps, spec, {
    async handle(leads) {
      const now = deps.now();
      const outputs: Output[] = [];
      for (const lead of leads) {
        const r = routeLead(lead.event, deps.config.router, deps.topology, now);
        outputs.push(...r.outputs);
        for (const h of r.history) deps.history.record(h);
      }
      return { outputs };
    },
  });
}
