/**
 * Route: leads.enriched → one record per destination (or leads.rejected), from the rules.
 * The rules are hot-reloaded from the router file (see processors/route/rules-store.ts); each
 * batch is routed with the rules in force when it started.
 */
import type { Logger } from 'pino';
import { ConfigError, parseRouterFile, type RouterFile } from '../config.js';
import { topicFor } from '../destination.js';
import type { LeadEvent } from '../lead.js';
import type { Output } from '../kafka/stage-contract.js';
import type { RunningStage } from '../kafka/running-stage.js';
import { eventOutputs, type HistoryEntry } from '../history/events.js';
import { decideRoute, deliveryFor, type RoutingConfig } from '../processors/route/route.js';
import { checkRoutingReferences } from '../processors/route/rules-schema.js';
import { createRulesStore } from '../processors/route/rules-store.js';
import type { Topology, StageSpec } from '../topology.js';
import { startLeadStage, type StageDeps } from './context.js';

export function routeLead(
  event: LeadEvent,
  config: RoutingConfig,
  topology: Topology,
  now: number,
  optOuts: { isOptedOut(phone: string): boolean } = { isOptedOut: () => false },
): { outputs: Output[]; history: HistoryEntry[] } {
  const decision = decideRoute(event, config);
  const hops = [...event.hops, 'route'];
  if (decision.kind === 'rejected') {
    return {
      outputs: [{ topic: topology.topics.rejected, key: event.leadId, value: { ...event, hops, rejection: { reason: decision.reason, stage: 'route', at: now } } }],
      history: [{ leadId: event.leadId, type: 'rejected', at: now, stage: 'route', detail: decision.reason }],
    };
  }
  // An opted-out number is not even queued for SMS (the SMS sink checks again before it sends).
  const deliveries = decision.deliveries.filter((d) => d.kind !== 'sms' || !optOuts.isOptedOut(d.key));
  if (deliveries.length < decision.deliveries.length) decision.skipped.push('sms: number opted out');
  const outputs: Output[] = deliveries.map((d) => ({
    topic: topicFor({ kind: d.kind, name: d.target }, topology.topics)!,
    key: d.key,
    value: { ...event, hops, delivery: deliveryFor(d, decision.rule, now) },
  }));
  const detail = [`rule ${decision.rule} → ${deliveries.map((d) => d.destination).join(', ') || 'nothing'}`, ...decision.skipped].join('; ');
  return { outputs, history: [{ leadId: event.leadId, type: 'routed', at: now, stage: 'route', detail }] };
}

/**
 * The reload `load` for a running router: the whole file is validated as at start-up, then its
 * `routing` section is taken, with `primary` (buyers, their terms and groups): every buyer is
 * served by the one leads.primary topic, and sink-primary reloads the same section, so a new
 * buyer or group needs no restart. SMS providers stay those of start-up (each has a topic and a
 * sink), so a rule naming a provider added since is rejected.
 */
export function routingReloader(running: RouterFile, log: Pick<Logger, 'warn'>): (text: string, where: string) => RoutingConfig {
  return (text, where) => {
    const file = parseRouterFile(text, where);
    const issues = checkRoutingReferences(file.routing, Object.keys(file.primary.buyers), Object.keys(running.sms.providers), Object.keys(file.primary.groups));
    if (issues.length > 0) {
      throw new ConfigError(
        `${where}:\n` +
          issues.map((i) => `  - ${i.path.join('.')}: ${i.message} in the running router (destinations are read at start-up: restart to add one)`).join('\n'),
      );
    }
    // Every other section is read once at start-up (the topology and the sinks are built from it).
    const sections = new Set([...Object.keys(file), ...Object.keys(running)]);
    sections.delete('routing');
    sections.delete('primary');
    const changed = [...sections].filter((s) => JSON.stringify((file as Record<string, unknown>)[s]) !== JSON.stringify((running as Record<string, unknown>)[s]));
    if (changed.length > 0) log.warn({ path: where, sections: changed }, `changes to ${changed.join(', ')} take effect after a restart; only routing and primary (buyers, groups) were reloaded`);
    return { routing: file.routing, sms: running.sms, search: running.search, primary: file.primary };
  };
}

export async function startRouteStage(deps: StageDeps, spec: StageSpec, optOuts: { isOptedOut(phone: string): boolean }): Promise<RunningStage> {
  const log = deps.log.child({ stage: spec.name, component: 'routing-rules' });
  const store = createRulesStore({ path: deps.config.routerPath, log, load: routingReloader(deps.config.router, log) });
  let running: RunningStage;
  try {
    running = await startLeadStage(deps, spec, {
      async handle(leads) {
        const rules = store.current();
        const now = deps.now();
        return leads.map((lead) => {
          const r = routeLead(lead.value, rules, deps.topology, now, optOuts);
          return { outputs: [...r.outputs, ...eventOutputs(deps.topology.topics.events, r.history)] };
        });
      },
    });
  } catch (err) {
    store.close();
    throw err;
  }
  return {
    ...running,
    async stop() {
      try {
        await running.stop();
      } finally {
        store.close();
      }
    },
  };
}
