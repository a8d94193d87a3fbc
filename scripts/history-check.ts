/**
 * `npm run history:check [bench-results/bench-….json]`: audits the lead history after a bench
 * run (the latest one by default), reading the store directly, so it works with the router
 * stopped (`npm start`, `npm run bench`, Ctrl-C, then this). For every lead the run got a 202 for:
 * received, enriched and routed, in that order, and one `delivered` per destination the bench
 * routes it to (the US buyer, the SMS provider, the search index); no event twice. Also times a
 * lead's history read, the query GET /v1/leads/:id runs, and prints where the time went hop by hop
 * (event times: received → enriched → routed → delivered, per destination), issue 11's breakdown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { EVENTS_COLLECTION, openHistoryStore, type StoredEvent } from '../src/history/store.js';
import { addHops, formatHops } from './bench/hops.js';

const arg = process.argv[2];
const file =
  arg ??
  path.join(
    'bench-results',
    fs
      .readdirSync('bench-results')
      .filter((f) => f.startsWith('bench-') && f.endsWith('.json'))
      .sort()
      .at(-1) ?? '',
  );
const run = JSON.parse(fs.readFileSync(file, 'utf8')) as { results: { name: string; leadIds?: string[] }[] };
const leadIds = run.results.flatMap((r) => r.leadIds ?? []);
if (leadIds.length === 0) {
  process.stderr.write(`history:check: ${file} lists no lead ids (a bench run from before they were saved)\n`);
  process.exit(1);
}

const config = loadConfig();
const store = await openHistoryStore(config.env.MONGO_URL, { ttlDays: config.env.HISTORY_TTL_DAYS, collection: EVENTS_COLLECTION });
const ORDER = ['received', 'enriched', 'routed'];
const DESTINATIONS = ['primary:', 'sms:', 'search:'];
const problems = new Map<string, number>();
const note = (what: string) => problems.set(what, (problems.get(what) ?? 0) + 1);
const readMs: number[] = [];
const hops = new Map<string, number[]>();
let complete = 0;
let next = 0;
async function audit(events: StoredEvent[]): Promise<boolean> {
  let ok = true;
  const at = ORDER.map((t) => events.find((e) => e.type === t)?.at.getTime());
  ORDER.forEach((t, i) => {
    if (at[i] === undefined) (note(`no ${t} event`), (ok = false));
  });
  if (at.every((t) => t !== undefined) && !(at[0]! <= at[1]! && at[1]! <= at[2]!)) (note('hops out of order'), (ok = false));
  for (const d of DESTINATIONS) {
    const n = events.filter((e) => e.type === 'delivered' && e.destination?.startsWith(d)).length;
    if (n === 0) (note(`no delivery to ${d}…`), (ok = false));
    if (n > 1) (note(`more than one delivery to ${d}…`), (ok = false));
  }
  addHops(hops, events);
  if (new Set(events.map((e) => e._id)).size !== events.length) (note('an event twice'), (ok = false));
  return ok;
}
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next < leadIds.length) {
      const id = leadIds[next++]!;
      const t0 = performance.now();
      const events = await store.forLead(id);
      readMs.push(performance.now() - t0);
      if (await audit(events)) complete++;
    }
  }),
);
await store.close();
const sorted = readMs.sort((a, b) => a - b);
const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!.toFixed(1);
process.stdout.write(`${file}: ${leadIds.length} leads, history complete for ${complete} (${((100 * complete) / leadIds.length).toFixed(2)}%)\n`);
for (const [what, n] of problems) process.stdout.write(`  ${n} × ${what}\n`);
for (const line of formatHops(hops)) process.stdout.write(`  ${line}\n`);
process.stdout.write(`history read per lead (8 at a time): p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms\n`);
process.exit(complete === leadIds.length ? 0 : 1);
