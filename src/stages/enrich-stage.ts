/** Enrich: leads.raw → leads.enriched. Enrichment never drops or stalls a lead (see processors/enrich). */
import { eventOutputs } from '../history/events.js';
import type { RecordResult } from '../kafka/batch-step.js';
import { createEnricher } from '../processors/enrich/index.js';
import type { StageSpec } from '../topology.js';
import { metrics } from '../metrics.js';
import { startLeadStage, type StageDeps } from './context.js';

export async function startEnrichStage(deps: StageDeps, spec: StageSpec) {
  const enricher = createEnricher(deps.config.router.enrichment);
  const { topics } = deps.topology;
  const running = await startLeadStage(deps, spec, {
    async handle(leads) {
      const enrichments = await enricher.enrichBatch(leads.map((l) => l.value));
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
        return {
          outputs: [
            { topic: topics.enriched, key: lead.value.leadId, value: { ...lead.value, hops: [...lead.value.hops, 'enrich'], enrichment: e } },
            ...eventOutputs(topics.events, [{ leadId: lead.value.leadId, type: 'enriched', at: now, stage: spec.name, detail }]),
          ],
        };
      });
    },
  });
  return { ...running, stop: async () => { await running.stop(); await enricher.close(); } };
}
