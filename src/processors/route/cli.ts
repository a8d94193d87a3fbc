/**
 * `lead-router route`: a dry run for ops. Reads enriched leads as JSON lines (the output of
 * `lead-router enrich`) and prints one decision per line with the rule that matched and what was
 * skipped (e.g. `sms: no SMS consent`), without Kafka:
 *
 *   lead-router enrich < leads.jsonl | lead-router route [--explain]
 *
 * With `explain`, each line also lists the rules tried, in evaluation order, and the conditions
 * that failed for each, and for a lead sold to buyers every buyer of the group considered and why
 * it was chosen or skipped (`distribution`, see explain-distribution.ts). A line that is not JSON, or not a lead, gives `{"line": N, "error": ...}`
 * and the run goes on.
 */
import { once } from 'node:events';
import readline from 'node:readline';
import type { LeadEvent } from '../../lead.js';
import { explainDistribution, type ExplainDeps } from './explain-distribution.js';
import { decideRoute, explainRoute, type RoutingConfig } from './route.js';

export interface RouteCliOptions {
  /** Print, per lead, the rules tried and which of their conditions failed. */
  explain?: boolean;
  /**
   * With explain and a config that has buyers: also every buyer of the rule's group considered
   * and why it was chosen or skipped (`distribution`: lines). Cap counts and bids come from here.
   */
  distribution?: ExplainDeps;
}

export interface RouteCliSummary {
  routed: number;
  rejected: number;
  errors: number;
}

export async function runRouteCli(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  config: { router: RoutingConfig },
  options: RouteCliOptions = {},
): Promise<RouteCliSummary> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  const summary: RouteCliSummary = { routed: 0, rejected: 0, errors: 0 };
  const write = async (record: unknown) => {
    if (!output.write(JSON.stringify(record) + '\n')) await once(output, 'drain');
  };
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let lead: LeadEvent;
    try {
      const raw = JSON.parse(line) as unknown;
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('not a JSON object');
      lead = { leadId: `line-${n}`, receivedAt: Date.now(), hops: [], enrichment: null, delivery: null, rejection: null, deadLetter: null, ...(raw as Partial<LeadEvent>) } as LeadEvent;
    } catch (err) {
      summary.errors++;
      await write({ line: n, error: `not JSON: ${(err as Error).message}` });
      continue;
    }
    let record: Record<string, unknown>;
    try {
      const decision = decideRoute(lead, config.router);
      if (decision.kind === 'routed') summary.routed++;
      else summary.rejected++;
      record =
        decision.kind === 'routed'
          ? { line: n, leadId: lead.leadId, rule: decision.rule, destinations: decision.deliveries.map((d) => ({ destination: d.destination, fallbacks: d.fallbacks })), skipped: decision.skipped }
          : { line: n, leadId: lead.leadId, rejected: decision.reason };
      if (options.explain) record.explain = explainRoute(lead, config.router).rules;
      const primary = decision.kind === 'routed' ? decision.deliveries.find((d) => d.kind === 'primary') : undefined;
      if (options.explain && primary && config.router.primary) {
        const lines = await explainDistribution(lead, primary.destination, config.router.primary, options.distribution ?? { now: Date.now, counts: async () => ({}), bids: null });
        if (lines) record.distribution = lines;
      }
    } catch (err) {
      // Typically a line that is JSON but not a lead (no source, no consent, ...).
      summary.errors++;
      record = { line: n, leadId: lead.leadId, error: `cannot route: ${(err as Error).message}` };
    }
    await write(record);
  }
  return summary;
}
