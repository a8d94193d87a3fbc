/**
 * `lead-router route`: a dry run for ops. Reads enriched leads as JSON lines (the output of
 * `lead-router enrich`) and prints one decision per line with the rule that matched, without Kafka.
 */
import readline from 'node:readline';
import type { Config } from '../../config.js';
import type { LeadEvent } from '../../lead.js';
import { decideRoute } from './route.js';

export async function runRouteCli(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, config: Pick<Config, 'router'>): Promise<void> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    let lead: LeadEvent;
    try {
      const raw = JSON.parse(line) as Partial<LeadEvent>;
      lead = { leadId: `line-${n}`, receivedAt: Date.now(), hops: [], enrichment: null, delivery: null, rejection: null, deadLetter: null, ...raw } as LeadEvent;
    } catch (err) {
      output.write(JSON.stringify({ line: n, error: `not JSON: ${(err as Error).message}` }) + '\n');
      continue;
    }
    const decision = decideRoute(lead, config.router);
    output.write(
      JSON.stringify(
        decision.kind === 'routed'
          ? { line: n, leadId: lead.leadId, rule: decision.rule, destinations: decision.deliveries.map((d) => ({ destination: d.destination, fallbacks: d.fallbacks })), skipped: decision.skipped }
          : { line: n, leadId: lead.leadId, rejected: decision.reason },
      ) + '\n',
    );
  }
}
