/** Enrich: leads.raw → leads.enriched. Enrichment never drops or stalls a lead (see processors/enrich). */
import type { Output } from '../kafka/stage-runner.js';
import { createEnricher } from '../processors/enrich/index.js';
import type { StageSpec } from '../topology.js';
import { startFromSpec, type StageDeps } from './context.js';

export async function startEnrichStage(deps: StageDeps, spec: StageSpec) {
  const enricher = createEnricher(deps.config.router.enrichment);
  const running = await startFromSpec(deps, spec, {
    async handle(leads) {
      const enrichments = await enricher.enrichBatch(leads.map((l) => l.event));
      const now = deps.now();
      const outputs: Output[] = leads.map((lead, i) => {
        const enrichment = enrichments[i]!;
        deps.history.record({
          leadId: lead.event.leadId,
          type: 'enriched',
          at: now,
          stage: spec.name,
          detail: `email ${enrichment.email.status} (${enrichment.email.reason}); tz ${enrichment.timezone.zone ?? enrichment.timezone.reason}; title ${enrichment.jobTitle.canonical ?? 'unmatched'}; phone ${enrichment.phone.e164 ? enrichment.phone.type ?? 'valid' : enrichment.phone.reason}`,
        });
        return { topic: deps.topology.topics.enriched, key: lead.event.leadId, event: { ...lead.event, hops: [...lead.event.hops, 'enrich'], enrichment } };
      });
      return { outputs };
    },
  });
  return { running, close: () => enricher.close() };
}
