/**
 * Enrichment throughput in one process.
 *   npx tsx scripts/bench-enrich.ts [--seconds 5] [--verifier-seconds 15] [--batch 100]
 *
 * 1. CPU path: everything except the verifier call (verifier off), on varied leads: US and UK,
 *    good/typo/disposable/invalid emails, phones in every format, ZIPs from the whole country,
 *    job titles built from real titles + brands + shifts + pay, so titles repeat like real ad
 *    traffic but thousands are distinct (the title cache is cold for those). Target ≥ 5,000 leads/s.
 * 2. Against the sandbox verifier answering every call after 100 ms (mode slow, delayMs 100),
 *    batches of --batch leads: calls within a batch overlap (p-limit), repeated addresses hit the
 *    cache. Target ≥ 5,000 leads/min sustained.
 */
import { startVerifier } from '../sandbox/verifier.js';
import type { Lead } from '../src/lead.js';
import { createEnricher } from '../src/processors/enrich/index.js';
import { createJobTitleNormalizer } from '../src/processors/enrich/job-title.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) || fallback : fallback;
}
const CPU_SECONDS = arg('--seconds', 5);
const VERIFIER_SECONDS = arg('--verifier-seconds', 15);
const BATCH = arg('--batch', 100);

// A small deterministic PRNG so runs are comparable.
let seed = 42;
function rand(): number {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
function pick<T>(list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

const FIRST = ['maria', 'JAMES', 'Jennifer', "o'neil", 'mcdonald', 'Li', 'josé', 'anne-marie', 'DeShawn', 'robert', 'LATOYA', 'wei'];
const LAST = ['smith', 'GARCIA', "o'brien", 'de la cruz', 'McDonald', 'nguyen', 'smith-jones', 'MACARTHUR', 'Johnson', 'van der berg'];
const DOMAINS = ['gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'icloud.com', 'aol.com', 'comcast.net', 'gmial.com', 'yaho.com', 'mailinator.com', 'leadmail.com'];
const BASE_TITLES = [
  'Warehouse Associate', 'Package Handler', 'Forklift Operator', 'CNA', 'Certified Nursing Assistant', 'RN', 'LPN', 'Home Health Aide',
  'Cashier', 'Stocker', 'Customer Service Rep', 'CDL-A Truck Driver', 'Delivery Driver', 'Caregiver', 'Medical Assistant',
  'Pharmacy Tech', 'Security Guard', 'Janitor', 'Housekeeper', 'Line Cook', 'Dishwasher', 'Server', 'Barista', 'Crew Member',
  'Receptionist', 'Administrative Assistant', 'Data Entry Clerk', 'Maintenance Tech', 'HVAC Technician', 'Electrician',
  'Teacher Aide', 'Substitute Teacher', 'Software Engineer', 'Help Desk Technician', 'Order Picker', 'Material Handler',
  'Production Associate', 'Machine Operator', 'Welder', 'Landscaper', 'Bank Teller', 'Insurance Agent', 'Dental Assistant',
  'Phlebotomist', 'Direct Support Professional', 'Mover', 'General Laborer', 'Bus Driver', 'Front Desk Agent', 'Nanny',
];
const BRANDS = ['', '', 'Amazon', 'Walmart', 'FedEx', 'UPS', 'Target', 'CVS', 'Kroger', 'Home Depot', "McDonald's", 'Starbucks'];
const EXTRAS = ['', '', '', ' - Full Time', ' - Part Time', ' - Nights', ' (2nd Shift)', ' - $18/hr', ' - Hiring Immediately!', ' - Weekends', ' - $3,000 Sign On Bonus', ' - Req #'];
const SPAM = ['Make $$$ from home', 'Apply Now!!!', 'Be your own boss', 'General Application'];
const UK_POSTCODES = ['SW1A 1AA', 'M1 1AE', 'EH1 1YZ', 'BT1 5GS', 'CR2 6XH', 'B33 8TH', 'LS1 4AP'];
const PHONE_FORMATS = [
  (a: number, b: number, c: number) => `(${a}) ${b}-${c}`,
  (a: number, b: number, c: number) => `${a}-${b}-${c}`,
  (a: number, b: number, c: number) => `+1 ${a} ${b} ${c}`,
  (a: number, b: number, c: number) => `${a}${b}${c}`,
];
const AREA_CODES = [212, 415, 312, 713, 602, 808, 305, 404, 206, 617];

function title(): string {
  if (rand() < 0.02) return pick(SPAM);
  const brand = pick(BRANDS);
  let extra = pick(EXTRAS);
  if (extra === ' - Req #') extra += String(1000 + Math.floor(rand() * 9000)); // makes titles distinct
  return `${brand ? brand + ' ' : ''}${pick(BASE_TITLES)}${extra}`;
}

function makeLeads(n: number, zips: string[], uniqueEmails: boolean, repeatShare = 0): Lead[] {
  const leads: Lead[] = [];
  for (let i = 0; i < n; i++) {
    const uk = rand() < 0.15;
    const first = pick(FIRST);
    const emailUser = repeatShare > 0 && rand() < repeatShare ? `repeat${Math.floor(rand() * 50)}` : `${first.toLowerCase().replace(/[^a-z]/g, '')}.${i}`;
    const domain = uniqueEmails ? 'leadmail.com' : pick(DOMAINS);
    leads.push({
      leadId: `bench-${i}`,
      receivedAt: Date.now(),
      hops: [],
      enrichment: null,
      firstName: first,
      lastName: pick(LAST),
      email: rand() < 0.02 ? 'not-an-email' : `${emailUser}@${domain}`,
      phone: uk ? pick(['07812 345678', '020 7946 0958', '+44 7400 123456']) : pick(PHONE_FORMATS)(pick(AREA_CODES), 200 + Math.floor(rand() * 700), 1000 + Math.floor(rand() * 9000)),
      zip: uk ? null : rand() < 0.03 ? pick(['1234', 'ABCDE', '00000']) : pick(zips),
      postcode: uk ? pick(UK_POSTCODES) : null,
      country: uk ? 'GB' : 'US',
      jobTitle: title(),
      source: 'bench',
      vendor: 'bench',
      consent: { sms: true, at: new Date().toISOString() },
    });
  }
  return leads;
}

function table(rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function cpuPath(): Promise<void> {
  const enricher = createEnricher({});
  // ZIPs sampled from the whole table: any 5-digit string, the table says which exist.
  const zips = Array.from({ length: 5000 }, () => String(Math.floor(rand() * 100_000)).padStart(5, '0'));
  const leads = makeLeads(50_000, zips, false);
  await enricher.enrichBatch(leads.slice(0, 2000)); // warm-up: JIT, zone caches

  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + CPU_SECONDS * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < leads.length && performance.now() < deadline; i += BATCH) {
      const batch = leads.slice(i, i + BATCH);
      await enricher.enrichBatch(batch);
      done += batch.length;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const titles = [...new Set(leads.map((l) => l.jobTitle))];
  const distinctTitles = titles.length;
  // The title matcher with a cold cache: what a never-seen title costs.
  const cold = createJobTitleNormalizer();
  const c0 = performance.now();
  for (const t of titles) cold.normalize(t);
  const coldUs = ((performance.now() - c0) * 1000) / titles.length;
  console.log('\nCPU path (verifier off)');
  table([
    ['leads enriched', fmt(done)],
    ['distinct job titles in the lead set', `${fmt(distinctTitles)} of ${fmt(leads.length)}`],
    ['leads/s', `${fmt(done / seconds)}  (target ≥ 5,000 ${done / seconds >= 5000 ? '✓' : '✗'})`],
    ['µs/lead', ((1e6 * seconds) / done).toFixed(1)],
    ['job title, cache miss', `${coldUs.toFixed(0)} µs/title`],
  ]);
  await enricher.close();
}

async function withVerifier(): Promise<void> {
  const server = await startVerifier({ port: 0 });
  server.setMode('slow', 100);
  const enricher = createEnricher({ verifier: { url: `${server.url}/v1/verify`, budgetMs: 300, concurrency: 64, connections: 64 } });
  const zips = ['10001', '60601', '85001', '96813', '30301', '75201', '94105', '98101'];
  // Unique addresses on a domain that passes local checks, 10% repeats (the cache's share).
  const leads = makeLeads(200_000, zips, true, 0.1);

  const batchMs: number[] = [];
  let done = 0;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + VERIFIER_SECONDS * 1000;
  while (performance.now() < deadline && next < leads.length) {
    const batch = leads.slice(next, next + BATCH);
    next += batch.length;
    const b0 = performance.now();
    await enricher.enrichBatch(batch);
    batchMs.push(performance.now() - b0);
    done += batch.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const stats = enricher.verifierStats();
  batchMs.sort((a, b) => a - b);
  const pct = (p: number): string => `${(batchMs[Math.min(batchMs.length - 1, Math.floor(p * batchMs.length))] ?? 0).toFixed(0)} ms`;
  console.log(`\nWith the sandbox verifier at 100 ms per call (batches of ${BATCH}, concurrency 64, budget 300 ms)`);
  table([
    ['leads enriched', fmt(done)],
    ['duration', `${seconds.toFixed(1)} s`],
    ['leads/min', `${fmt((done / seconds) * 60)}  (target ≥ 5,000 ${(done / seconds) * 60 >= 5000 ? '✓' : '✗'})`],
    ['batch latency p50 / p99', `${pct(0.5)} / ${pct(0.99)}`],
    ['verifier calls / cache hits', `${fmt(stats?.calls ?? 0)} / ${fmt(stats?.cacheHits ?? 0)}`],
    ['timeouts / circuit-open answers', `${fmt(stats?.timeouts ?? 0)} / ${fmt(stats?.circuitOpenAnswers ?? 0)}`],
  ]);
  await enricher.close();
  await server.close();
}

await cpuPath();
await withVerifier();
