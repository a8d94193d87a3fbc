/**
 * Offline enrichment: JSON-lines leads in, one enriched JSON line per input line out, no Kafka.
 * Wired to `lead-router enrich`; useful to check a vendor file or a config change by hand:
 *
 *   lead-router enrich < leads.jsonl > enriched.jsonl
 *
 * Input lines are LeadInput-like objects; leadId (UUIDv7), receivedAt (now) and hops ([]) are
 * filled in when missing. A line that is not a JSON object gives `{"error": "...", "line": N}` and
 * the run goes on. Output keeps input order. The verifier is off unless the options configure it.
 */
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { v7 as uuidv7 } from 'uuid';
import type { Lead } from '../../lead.js';
import { createEnricher, type EnricherOptions } from './index.js';

/** Lines enriched together: verifier calls overlap within a batch. */
const BATCH = 100;

type Parsed = { lead: Lead; line: number } | { error: string; line: number };

export async function runEnrichCli(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  opts: EnricherOptions | Record<string, unknown> = {},
): Promise<{ count: number; errors: number }> {
  const enricher = createEnricher(opts as EnricherOptions);
  let count = 0;
  let errors = 0;
  let lineNo = 0;
  let batch: Parsed[] = [];

  async function write(text: string): Promise<void> {
    if (!output.write(text)) await once(output, 'drain');
  }

  async function flush(): Promise<void> {
    const leads = batch.flatMap((p) => ('lead' in p ? [p.lead] : []));
    const enrichments = await enricher.enrichBatch(leads);
    let k = 0;
    let out = '';
    for (const p of batch) {
      if ('error' in p) {
        errors++;
        out += JSON.stringify({ error: p.error, line: p.line }) + '\n';
      } else {
        count++;
        out += JSON.stringify({ ...p.lead, enrichment: enrichments[k++] }) + '\n';
      }
    }
    batch = [];
    if (out) await write(out);
  }

  try {
    const lines = createInterface({ input, crlfDelay: Infinity });
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      batch.push(parseLine(text, lineNo));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  } finally {
    await enricher.close();
  }
  return { count, errors };
}

function parseLine(text: string, line: number): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}`, line };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { error: 'a lead must be a JSON object', line };
  const raw = value as Partial<Lead> & Record<string, unknown>;
  const lead = {
    ...raw,
    leadId: typeof raw.leadId === 'string' && raw.leadId !== '' ? raw.leadId : uuidv7(),
    receivedAt: typeof raw.receivedAt === 'number' ? raw.receivedAt : Date.now(),
    hops: Array.isArray(raw.hops) ? raw.hops : [],
    // "UK" is accepted at ingest and stored as "GB"; do the same here.
    country: (raw.country as string | undefined) === 'UK' ? 'GB' : raw.country,
    enrichment: null,
  } as Lead;
  return { lead, line };
}
