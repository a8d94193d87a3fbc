/**
 * `npm run bench`: drives the RUNNING router (start it with `npm start`) over HTTP.
 *   1. a fixed rate (default 5,000 leads/min for 60 s), open-loop: leads are sent on schedule
 *      whether or not earlier ones were answered, so a slow router shows up as latency, not as
 *      a politely slower load generator;
 *   2. a burst (default 5,000 leads, 64 in flight) to find where it saturates, and whether a
 *      lead posted in its middle waits behind the whole burst (issue 11's "fresh leads first":
 *      delivered within 2× the fixed rate's p99);
 *   3. with --retry-storm S: the US buyer answers 500 for S seconds of the fixed rate, then is
 *      healthy again while the fixed rate goes on: the failed leads come back as retries (the
 *      retry lane, RETRY_PER_SECOND) while fresh leads arrive, and the fresh leads' buyer p99 is
 *      set against the first phase's (issue 11: retries never compete with first deliveries).
 * For each phase it reports leads/min accepted and delivered, and p50/p95/p99 latency from the
 * POST to the 202 and to each destination: the US buyer and the SMS provider (arrival times the
 * sandbox records) and the search index (the document's indexedAt, stamped by the sink when it
 * sends the bulk request).
 *
 *   npm run bench -- --rate 5000 --seconds 60 --burst 5000 --concurrency 64 [--retry-storm 60] [--key lr_…]
 */
import fs from 'node:fs';
import { Pool } from 'undici';
import { DEV_VENDOR_KEYS } from '../src/security/dev-credentials.js';

const arg = (name: string, def: number | string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : String(def);
};
const INGEST = arg('url', process.env.INGEST_URL ?? 'http://127.0.0.1:3000');
const RATE = Number(arg('rate', 5000));
const SECONDS = Number(arg('seconds', 60));
const BURST = Number(arg('burst', 5000));
const CONCURRENCY = Number(arg('concurrency', 64));
const ES = arg('es', process.env.ES_URL ?? 'http://127.0.0.1:9200');
const INDEX = arg('index', 'leads');
const BUYER = arg('buyer', 'http://127.0.0.1:4701');
const SMS = arg('sms', 'http://127.0.0.1:4711');
const DRAIN_MS = Number(arg('drain-seconds', 120)) * 1000;
const STORM_SECONDS = Number(arg('retry-storm', 0));
// The vendor key (x-api-key); the development vendor's by default, as `npm start` accepts it.
const API_KEY = arg('key', process.env.LEAD_ROUTER_API_KEY ?? DEV_VENDOR_KEYS.dev1);

const pool = new Pool(INGEST, { connections: CONCURRENCY, pipelining: 1 });
const run = Date.now().toString(36);
const PHONE_BASE = Math.floor(Math.random() * 7_999_999);
const TITLES = ['CNA - Nights', 'Warehouse Associate $18/hr', 'Forklift Operator', 'Registered Nurse (ICU)', 'Delivery Driver - Start Today', 'Cashier PT', 'Line Cook + Tips', 'Customer Service Rep - Remote'];
const ZIPS = ['10001', '60601', '94103', '85001', '96813', '30301', '75201', '98101'];

function lead(i: number): Record<string, unknown> {
  return {
    firstName: 'Bench',
    lastName: `Lead${i}`,
    email: `bench.${run}.${i}@gmail.com`,
    // A different phone per lead and per run: the SMS dedup (rightly) skips a phone texted in the last 24 h.
    phone: `+1312${2_000_000 + ((PHONE_BASE + i) % 7_999_999)}`,
    zip: ZIPS[i % ZIPS.length],
    country: 'US',
    jobTitle: TITLES[i % TITLES.length],
    source: 'bench',
    vendor: 'bench-vendor',
    vendorLeadId: `${run}-${i}`,
    consent: { sms: true, at: new Date().toISOString() },
  };
}

interface Sent {
  leadId: string;
  postedAt: number;
  ackMs: number;
}

async function post(i: number): Promise<Sent | null> {
  const postedAt = Date.now();
  try {
    const res = await pool.request({ path: '/v1/leads', method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify(lead(i)) });
    const body = (await res.body.json()) as { leadId?: string };
    if (res.statusCode !== 202 || !body.leadId) return null;
    return { leadId: body.leadId, postedAt, ackMs: Date.now() - postedAt };
  } catch {
    return null;
  }
}

async function fixedRate(startIndex: number, seconds = SECONDS): Promise<{ sent: Sent[]; failed: number; spanMs: number }> {
  const total = Math.round((RATE / 60) * seconds);
  const interval = 60_000 / RATE;
  const t0 = Date.now();
  const pending: Promise<Sent | null>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(post(startIndex + i));
  }
  const results = await Promise.all(pending);
  const sent = results.filter((r): r is Sent => r !== null);
  return { sent, failed: results.length - sent.length, spanMs: Date.now() - t0 };
}

async function burst(startIndex: number): Promise<{ sent: Sent[]; failed: number; spanMs: number }> {
  const t0 = Date.now();
  let next = 0;
  const sent: Sent[] = [];
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < BURST) {
        const i = next++;
        const r = await post(startIndex + i);
        if (r) sent.push(r);
        else failed++;
      }
    }),
  );
  return { sent, failed, spanMs: Date.now() - t0 };
}

async function arrivals(base: string, since: number): Promise<Map<string, number>> {
  const res = await fetch(`${base}/_sandbox/received?since=${since}`);
  const { received } = (await res.json()) as { received: { leadId: string | null; at: number; accepted: boolean }[] };
  const map = new Map<string, number>();
  for (const r of received) if (r.leadId && r.accepted && !map.has(r.leadId)) map.set(r.leadId, r.at);
  return map;
}

async function searchArrivals(ids: string[]): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 1000) {
    const res = await fetch(`${ES}/${INDEX}/_mget?_source_includes=indexedAt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: ids.slice(i, i + 1000) }) });
    if (!res.ok) continue;
    const { docs } = (await res.json()) as { docs: { _id: string; found: boolean; _source?: { indexedAt: number } }[] };
    for (const d of docs) if (d.found && d._source) map.set(d._id, d._source.indexedAt);
  }
  return map;
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(name: string, phase: { sent: Sent[]; failed: number; spanMs: number }, since: number) {
  const ids = phase.sent.map((s) => s.leadId);
  // Wait (bounded) until every destination has every lead: that is when the phase is really done.
  const deadline = Date.now() + DRAIN_MS;
  let buyer = new Map<string, number>();
  let sms = new Map<string, number>();
  let search = new Map<string, number>();
  while (Date.now() < deadline) {
    [buyer, sms] = await Promise.all([arrivals(BUYER, since), arrivals(SMS, since)]);
    if (ids.every((id) => buyer.has(id) && sms.has(id))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await fetch(`${ES}/${INDEX}/_refresh`, { method: 'POST' }).catch(() => undefined);
  search = await searchArrivals(ids);
  const rows: string[][] = [];
  const row = (dest: string, latencies: number[], lastAt: number) => {
    const first = Math.min(...phase.sent.map((s) => s.postedAt));
    const perMin = latencies.length > 0 ? Math.round((latencies.length / Math.max(1, lastAt - first)) * 60_000) : 0;
    rows.push([dest, `${latencies.length}/${ids.length}`, String(perMin), ...[50, 95, 99].map((p) => (Number.isNaN(pct(latencies, p)) ? '-' : String(Math.round(pct(latencies, p))))), String(Math.round(Math.max(...latencies, 0)))]);
  };
  const byId = new Map(phase.sent.map((s) => [s.leadId, s]));
  const lat = (m: Map<string, number>) => [...m].filter(([id]) => byId.has(id)).map(([id, at]) => at - byId.get(id)!.postedAt);
  const last = (m: Map<string, number>) => Math.max(...[...m].filter(([id]) => byId.has(id)).map(([, at]) => at), 0);
  row('202 (Kafka ack)', phase.sent.map((s) => s.ackMs), Math.max(...phase.sent.map((s) => s.postedAt + s.ackMs)));
  row('primary buyer', lat(buyer), last(buyer));
  row('SMS provider', lat(sms), last(sms));
  row('search index', lat(search), last(search));
  process.stdout.write(`\n${name}: ${ids.length} accepted, ${phase.failed} refused, sent over ${(phase.spanMs / 1000).toFixed(1)} s\n`);
  process.stdout.write('| destination | delivered | leads/min | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.join(' | ')} |\n`);
  // The leads posted in the middle of the phase (by post time): the ones a first-in-first-out
  // backlog would make wait for everything posted before them.
  const byPost = [...phase.sent].sort((a, b) => a.postedAt - b.postedAt);
  const middle = byPost.slice(Math.max(0, Math.floor(byPost.length / 2) - 5), Math.floor(byPost.length / 2) + 5);
  const midLatency = (m: Map<string, number>) => {
    const l = middle.filter((x) => m.has(x.leadId)).map((x) => m.get(x.leadId)! - x.postedAt);
    return l.length === middle.length && l.length > 0 ? Math.max(...l) : null;
  };
  const mid = { buyer: midLatency(buyer), sms: midLatency(sms) };
  // The ids let `npm run history:check` audit every lead's history afterwards.
  return { name, accepted: ids.length, refused: phase.failed, spanMs: phase.spanMs, rows, leadIds: ids, mid, p99: { buyer: pct(lat(buyer), 99), sms: pct(lat(sms), 99) } };
}

const ready = await fetch(`${INGEST}/readyz`).then((r) => r.ok, () => false);
if (!ready) {
  process.stderr.write(`bench: the router is not ready at ${INGEST} (start it with npm start)\n`);
  process.exit(1);
}
process.stdout.write(`bench: ${RATE} leads/min for ${SECONDS} s, then a burst of ${BURST} (${CONCURRENCY} in flight) against ${INGEST}\n`);
const results = [];
if (SECONDS > 0) {
  const since = Date.now();
  results.push(await measure(`fixed rate ${RATE}/min`, await fixedRate(0), since));
}
if (BURST > 0) {
  const since = Date.now();
  const b = await measure(`burst of ${BURST}`, await burst(1_000_000), since);
  results.push(b);
  const idle = results.find((r) => r !== b);
  const ms = (v: number | null) => (v === null ? 'not delivered' : `${Math.round(v)} ms`);
  const against = (dest: 'buyer' | 'sms') =>
    idle && Number.isFinite(idle.p99[dest]) && b.mid[dest] !== null ? ` (${(b.mid[dest]! / idle.p99[dest]).toFixed(1)}× the fixed rate's p99 of ${Math.round(idle.p99[dest])} ms; target ≤ 2×)` : '';
  process.stdout.write(`\nleads posted mid-burst (10 around #${Math.floor(b.accepted / 2)}), slowest: buyer ${ms(b.mid.buyer)}${against('buyer')}, SMS ${ms(b.mid.sms)}${against('sms')}\n`);
}
if (STORM_SECONDS > 0) {
  const buyerMode = (mode: string) => fetch(`${BUYER}/_sandbox/mode`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  const stormSince = Date.now();
  await buyerMode('error500');
  const failing = await fixedRate(2_000_000, STORM_SECONDS);
  await buyerMode('healthy');
  const since = Date.now();
  const fresh = await measure(`fresh leads, ${RATE}/min for ${SECONDS} s after the buyer came back`, await fixedRate(3_000_000), since);
  const stormed = await measure(`leads posted while the buyer answered 500 for ${STORM_SECONDS} s (delivered by retries)`, failing, stormSince);
  results.push(fresh, stormed);
  const idle = results[0];
  const vs = idle && idle !== fresh && Number.isFinite(idle.p99.buyer) ? ` (${(fresh.p99.buyer / idle.p99.buyer).toFixed(1)}× the first phase's ${Math.round(idle.p99.buyer)} ms)` : '';
  process.stdout.write(`\nfresh leads while ${stormed.accepted} failed ones came back as retries: buyer p99 ${Math.round(fresh.p99.buyer)} ms${vs}\n`);
}
fs.mkdirSync('bench-results', { recursive: true });
const file = `bench-results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
fs.writeFileSync(file, JSON.stringify({ rate: RATE, seconds: SECONDS, burst: BURST, concurrency: CONCURRENCY, retryStormSeconds: STORM_SECONDS, results }, null, 2));
process.stdout.write(`\nsaved ${file}\n`);
await pool.close();
