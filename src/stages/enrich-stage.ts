/**
 * Enrich: leads.raw → leads.enriched. Enrichment never drops or stalls a lead (see
 * processors/enrich). Fused with routing (ENRICH_AND_ROUTE_TOGETHER, stage kind enrich-route),
 * the same consumer also routes each enriched lead in the same produce: leads.enriched is still
 * written for data teams, and the lead is on its destinations' topics one Kafka hop sooner.
 */
import { eventOutputs } from '../history/events.js';
import type { Output, RecordResult } from '../kafka/stage-contract.js';
import type { LeadEvent } from '../lead.js';
import { metrics } from '../metrics.js';
import { createEnricher } from '../processors/enrich/index.js';
import { createRulesStore } from '../processors/route/rules-store.js';
import type { StageSpec } from '../topology.js';
import { startLeadStage, type StageDeps } from './context.js';
import { routeLead, routingReloader } from './route-stage.js';

export async function startEnrichStage(deps: StageDeps, spec: StageSpec, withRouting?: { optOuts: { isOptedOut(phone: string): boolean } }) {
  const enricher = createEnricher(deps.config.router.enrichment);
  const { topics } = deps.topology;
  const log = deps.log.child({ stage: spec.name, component: 'routing-rules' });
  const rules = withRouting ? createRulesStore({ path: deps.config.routerPath, log, load: routingReloader(deps.config.router, log) }) : null;

  function routed(lead: LeadEvent, now: number): Output[] {
    if (!rules || !withRouting) return [];
    const r = routeLead(lead, rules.current(), deps.topology, now, withRouting.optOuts);
    return [...r.outputs, ...eventOutputs(topics.events, r.history)];
  }

  const running = await startLeadStage(deps, spec, {
    async handle(leads, _ctx, abandoned) {
      const enrichments = await enricher.enrichBatch(leads.map((l) => l.value), abandoned);
      const stats = enricher.verifierStats();
      if (stats) {
        metrics.verifierLookups.set({ source: 'call' }, stats.calls);
        metrics.verifierLookups.set({ source: 'cache' }, stats.cacheHits);
        metrics.verifierTimeouts.set(stats.timeouts);
      }
      const now = deps.now();
      return leads.map((lead, i): RecordResult => {
        const e = enrichments[i]!;
        const detail = `email ${e.email.status} (${e.email.reason}); tz ${e.timezone.zone ?? e.timezone.reason}; title ${e.jobTitle.canonical ?? 'unmatched'}; phone ${e.phone.e164 ? (e.phone.type ?? 'valid') : e.phone.reason}`;
        const enriched: LeadEvent = { ...lead.value, hops: [...lead.value.hops, 'enrich'], enrichment: e };
        return {
          outputs: [
            { topic: topics.enriched, key: lead.value.leadId, value: enriched },
            ...eventOutputs(topics.events, [{ leadId: lead.value.leadId, type: 'enriched', at: now, stage: spec.name, detail }]),
            ...routed(enriched, now),
          ],
        };
      });
    },
  }).catch((err: unknown) => {
    rules?.close();
    throw err;
  });
  return {
    ...running,
    stop: async () => {
      await running.stop();
      rules?.close();
      await enricher.close();
    },
  };
}
