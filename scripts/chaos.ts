/**
 * `npm run chaos`: the pipeline heals itself, proven with an exact ledger.
 *
 * Brings the stack up, runs every role as several supervised processes, sends leads at a steady
 * rate to sandbox destinations that record every arrival, and meanwhile SIGKILLs role processes,
 * stops enrich for a while, kills the Kafka broker, fails the buyer three ways, refuses one SMS
 * provider and slows the buyer (scripts/chaos/faults.ts). Then it waits for everything to drain
 * and checks, for every accepted lead at every destination its route needs: delivered, or in
 * leads.dlq with a reason. It prints accepted, delivered, DLQ, LOST, duplicate deliveries, people
 * texted twice, the history check, time to drain, restarts per role and how long each fault took
 * to heal, and exits non-zero when anything is lost, anyone was texted twice or history is short.
 *
 *   npm run chaos                      20,000 leads at 70/s on one broker (~6 min)
 *   npm run chaos -- --short           3,000 leads at 30/s (what CI runs)
 *   npm run chaos -- --cluster         on three brokers (rf 3, min.insync.replicas 2), one killed
 *   npm run chaos -- --own-stack       on a stack of its own (other ports): the everyday one is left alone
 *   npm run chaos -- --leads 50000 --rate 200
 *   npm run chaos -- --backlog --leads 50000 --rate 200 --own-stack
 *                                      one fault only: enrich stopped while every lead arrives
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { startSandbox } from '../sandbox/index.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createLeadCodec } from '../src/kafka/codec.js';
import { createKafka } from '../src/kafka/client.js';
import { readRange } from '../src/kafka/topic-reader.js';
import { openHistoryStore, type StoredEvent } from '../src/history/store.js';
import type { LeadEvent } from '../src/lead.js';
import { createEvictor } from '../src/ops/evict.js';
import { buildTopology, leadTopics, type Role } from '../src/topology.js';
import { DEV_VENDOR_KEYS } from '../src/security/dev-credentials.js';
import { buyerDeliveries, checkHistory, indexedIds, ledger, lostCount, stalls, textedPhones, type DeadLetter } from './chaos/check.js';
import { runFaults, type FaultRecord } from './chaos/faults.js';
import { runLoad } from './chaos/load.js';
import { stackDown, stackEndpoints, stackStatus, stackUp } from './stack/index.js';
import { Supervisor } from './supervisor.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, def: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const short = flag('--short');
const cluster = flag('--cluster');
const backlog = flag('--backlog');
// A stack of its own on other ports (always with --cluster): leaves the everyday stack alone.
const ownStack = cluster || flag('--own-stack');
const leads = value('--leads', short ? 3000 : 20_000);
const rate = value('--rate', short ? 30 : 70);
const drainTimeoutMs = value('--drain-seconds', short ? 240 : 480) * 1000;
const SESSION_TIMEOUT_MS = 10_000;
const say = (line: string) => process.stdout.write(`chaos ${new Date().toISOString().slice(11, 19)} ${line}\n`);

if (ownStack) {
  // A stack of its own beside the everyday one, on other ports (three brokers with --cluster).
  Object.assign(process.env, {
    STACK_DIR: process.env.STACK_DIR ?? (cluster ? '.stack-cluster' : '.stack-chaos'),
    STACK_KAFKA_NODES: cluster ? '3' : '1',
    STACK_KAFKA_PORT: '19092',
    STACK_KAFKA_CONTROLLER_PORT: '19093',
    STACK_REGISTRY_PORT: '18181',
    STACK_REGISTRY_MGMT_PORT: '18191',
    STACK_MONGO_PORT: '28017',
    STACK_FERRETDB_DEBUG_PORT: '18088',
    STACK_PG_PORT: '15433',
    STACK_ES_PORT: '19200',
  });
}

// The roles run from dist/: build it from this checkout first, so the run tests what is here.
if (spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' }).status !== 0) throw new Error('build failed');
const stackWasUp = (await stackStatus()).every((s) => s.running);
say(`stack ${cluster ? '(three brokers) ' : ''}coming up`);
await stackUp({ log: (l) => say(l), ...(ownStack ? { cluster } : {}) });
const endpoints = stackEndpoints();

const run = Math.floor(Date.now() / 1000) % 100_000;
const prefix = `chaos-${run}.`;
const sandbox = await startSandbox({ buyerUs: 0, buyerUk: 0, twilio: 0, jsonSms: 0, xmlSms: 0, verifier: 0 });
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lead-router-chaos-'));
const router = YAML.parse(fs.readFileSync('config/router.yaml', 'utf8')) as Record<string, any>;
router.primary.buyers['buyer-us'].url = `${sandbox.buyerUs.url}/leads`;
router.primary.buyers['buyer-uk'].url = `${sandbox.buyerUk.url}/leads`;
router.sms.providers.twilio.baseUrl = sandbox.twilio.url;
router.sms.providers.eurosms.baseUrl = sandbox.jsonSms.url;
router.search.index = `${prefix}leads`;
router.enrichment.verifier.url = `${sandbox.verifier.url}/v1/verify`;
router.smsPolicy = { ...(router.smsPolicy ?? {}), quietHours: { US: { start: '00:00', end: '24:00' }, UK: { start: '00:00', end: '24:00' } } };
// Retries long enough to outlast every fault: a lead is dead-lettered only for a lasting reason.
router.retry = { baseDelayMs: 500, maxDelayMs: 5000, maxAttempts: 40, maxAgeMs: 1_200_000 };
const routerPath = path.join(workDir, 'router.yaml');
fs.writeFileSync(routerPath, YAML.stringify(router));
const env: NodeJS.ProcessEnv = {
  ROUTER_CONFIG: routerPath,
  TOPIC_PREFIX: prefix,
  KAFKA_BROKERS: endpoints.kafkaBrokers,
  TOPIC_REPLICATION_FACTOR: String(endpoints.replicationFactor),
  SCHEMA_REGISTRY_URL: endpoints.registryUrl,
  MONGO_URL: `${endpoints.mongoUrl}chaos_${run}`,
  ES_URL: endpoints.esUrl,
  KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};
const config = loadConfig({ ...process.env, ...env });
const topology = buildTopology(config);
const log = createLogger('warn', 'chaos');

// Every role as several processes, each with its own admin port for readiness. Ingest too: the
// vendor goes through what a load balancer does (the next process when one does not answer), so
// a killed ingest is what it is in production, one of several, not the only door.
const ingestPorts = [1, 2].map((i) => 3850 + i * 50 + (run % 50));
type Slot = { name: string; roles: Role[]; port?: number };
const layout: Slot[] = [
  ...ingestPorts.map((port, i): Slot => ({ name: `ingest-${i + 1}`, roles: ['ingest'], port })),
  ...[1, 2].map((i): Slot => ({ name: `enrich-${i}`, roles: ['enrich'] })),
  ...[1, 2].map((i): Slot => ({ name: `route-${i}`, roles: ['route'] })),
  ...[1, 2].map((i): Slot => ({ name: `deliver-${i}`, roles: ['sink-primary', 'sink-search'] })),
  ...[1, 2].map((i): Slot => ({ name: `sms-${i}`, roles: ['sink-sms'] })),
  ...[1, 2].map((i): Slot => ({ name: `backup-history-${i}`, roles: ['sink-backup', 'sink-history'] })),
];
const roles = layout.map((r, i) => ({ ...r, adminPort: 19500 + (run % 40) * 20 + i }));
const logs = fs.createWriteStream(path.join(workDir, 'router.log'));
// A process seen to die leaves its groups at once (src/ops/evict.ts), as under `npm start`.
const evictor = createEvictor(config, log);
const rolesOf = new Map(layout.map((r) => [r.name, r.roles]));
const supervisor = new Supervisor({
  log: (l) => say(l),
  initialBackoffMs: 500,
  maxBackoffMs: 5000,
  stableAfterMs: 20_000,
  beforeRestart: async (name) => {
    const started = Date.now();
    const removed = await evictor.evict(name, rolesOf.get(name) ?? []);
    if (removed.length > 0) say(`[${name}] removed from its groups (${removed.length} members) ${((Date.now() - started) / 1000).toFixed(1)} s after its exit`);
  },
});
for (const r of roles) {
  supervisor.start({
    name: r.name,
    cmd: process.execPath,
    args: ['bin/lead-router.js', 'run', ...r.roles],
    env: { ...env, ADMIN_PORT: String(r.adminPort), ...(r.port ? { PORT: String(r.port) } : {}) },
    output: (name, line) => logs.write(`[${name}] ${line}\n`),
  });
}
const ready = (port: number) => fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
const startDeadline = Date.now() + 180_000;
while (!(await Promise.all(roles.map((r) => ready(r.adminPort)))).every(Boolean)) {
  if (Date.now() > startDeadline) throw new Error(`roles not ready after 180 s; see ${workDir}/router.log`);
  await new Promise((r) => setTimeout(r, 500));
}
say(`${roles.length} role processes ready; logs in ${workDir}/router.log`);

// The load and the faults, together.
const loadSeconds = leads / rate;
let loadDone = false;
const loadStart = Date.now();
say(`sending ${leads} leads at ${rate}/s (~${Math.round(loadSeconds)} s) while ${backlog ? 'enrich is stopped' : 'faults run'}`);
const [load, faults] = await Promise.all([
  runLoad({ urls: ingestPorts.map((port) => `http://127.0.0.1:${port}/v1/leads`), headers: { 'x-api-key': DEV_VENDOR_KEYS.dev1 }, count: leads, ratePerSecond: rate, run, onProgress: (sent, ok) => sent > 0 && say(`sent ${sent}, accepted ${ok}`) }).finally(() => (loadDone = true)),
  runFaults(
    {
      supervisor,
      roles,
      buyerUs: sandbox.buyerUs,
      smsProvider: sandbox.twilio,
      async killBroker() {
        const victim = cluster ? 'kafka-2' : 'kafka';
        await stackDown({ services: [victim], kill: true, log: () => undefined });
        return victim;
      },
      async startBroker(name) {
        await stackUp({ services: [name], log: () => undefined });
      },
      log: say,
    },
    loadSeconds,
    cluster,
    () => false,
    backlog ? 'backlog' : 'all',
  ),
]);
const loadEnd = Date.now();
void loadDone;
say(`load done: ${load.accepted.length} accepted, ${load.gaveUp} given up by the vendor; retried answers ${JSON.stringify(load.statuses)}`);

// Drain: wait until every accepted lead is delivered or dead-lettered everywhere it must go.
const leadCodec = await createLeadCodec(env.SCHEMA_REGISTRY_URL!, leadTopics(topology));
const kafka = createKafka(config.env, log, 'chaos');
async function deadLetters(): Promise<DeadLetter[]> {
  const dead: DeadLetter[] = [];
  await readRange({
    kafka,
    topic: topology.topics.dlq,
    async onBatch(records) {
      for (const r of records) {
        const e: LeadEvent = await leadCodec.decode(r.value);
        dead.push({ leadId: e.leadId, destination: e.delivery?.destination ?? '', reason: e.deadLetter?.reason ?? r.headers['x-dead-reason'] ?? '' });
      }
    },
  });
  return dead;
}
const indexed = new Set<string>();
const seen = { buyers: new Map<string, string[]>(), texted: new Set<string>(), indexed, dead: [] as DeadLetter[], textedTwice: [] as string[] };
let report = ledger(load.accepted, seen);
const drainStart = Date.now();
for (;;) {
  const missingSearch = load.accepted.map((l) => l.leadId).filter((id) => !indexed.has(id));
  for (const id of await indexedIds(env.ES_URL!, router.search.index, missingSearch)) indexed.add(id);
  Object.assign(seen, { buyers: buyerDeliveries(sandbox), texted: textedPhones(sandbox), dead: await deadLetters(), textedTwice: sandbox.textedTwice() });
  report = ledger(load.accepted, seen);
  if (lostCount(report) === 0 || Date.now() - drainStart > drainTimeoutMs) break;
  say(`draining: ${lostCount(report)} deliveries outstanding (buyer ${report.lost.buyer.length}, sms ${report.lost.sms.length}, search ${report.lost.search.length})`);
  await new Promise((r) => setTimeout(r, 3000));
}
const drainedAt = Date.now();
const outstanding = [...report.lost.buyer.map((id) => ['buyer', id]), ...report.lost.sms.map((id) => ['sms', id]), ...report.lost.search.map((id) => ['search', id])];

// History: written by its own group from leads.events; give it a moment to catch up, then check.
const store = await openHistoryStore(env.MONGO_URL!, { ttlDays: 180 });
const eventsOf = async () => {
  // The run's whole collection (its own database), streamed: FerretDB cannot push $in down, so
  // chunks of ids would each scan the whole table anyway.
  const byLead = new Map<string, StoredEvent[]>();
  for await (const e of store.db.collection<StoredEvent>('lead_events').find({}, { batchSize: 5000 })) {
    const list = byLead.get(e.leadId) ?? [];
    list.push(e);
    byLead.set(e.leadId, list);
  }
  return byLead;
};
let history = checkHistory(load.accepted, await eventsOf(), seen);
for (let i = 0; i < 24 && history.incomplete.length > 0; i++) {
  await new Promise((r) => setTimeout(r, 5000));
  history = checkHistory(load.accepted, await eventsOf(), seen);
}
const historyByLead = await eventsOf();
const allEvents = [...historyByLead.values()].flat();
await store.close();

const restarts = supervisor.restarts();
await supervisor.stopAll();
await sandbox.close();
if (ownStack || !stackWasUp) await stackDown({ log: () => undefined });

// The report.
const lost = lostCount(report);
const deliveredAt = allEvents.filter((e) => e.type === 'delivered').map((e) => ({ at: e.at.getTime(), destination: e.destination ?? '' }));
const heal = (f: FaultRecord) => {
  const took = `${((f.end ?? f.start) - f.start) / 1000 >= 1 ? `lasted ${(((f.end ?? f.start) - f.start) / 1000).toFixed(0)} s; ` : ''}`;
  if (f.readyAt) return `${took}back at work (in its groups) after ${((f.readyAt - f.start) / 1000).toFixed(1)} s`;
  // The buyer's three failures follow each other: deliveries resume only after the last one.
  const next = faults.find((g) => g !== f && g.stops && g.affects.join() === f.affects.join() && Math.abs(g.start - (f.end ?? f.start)) < 1000);
  if (next) return `${took}followed at once by "${next.name}"`;
  // The longest stretch without a delivery to what it affects, from its start to a minute after its end.
  const relevant = deliveredAt
    .filter((d) => f.affects.includes('all') || f.affects.length === 0 || f.affects.some((a) => d.destination.endsWith(`:${a}`)))
    .filter((d) => d.at >= f.start && d.at <= (f.end ?? f.start) + 60_000)
    .map((d) => d.at)
    .sort((a, b) => a - b);
  if (relevant.length === 0) return `${took}no delivery in the minute after it (load over?)`;
  let gap = relevant[0]! - f.start;
  for (let i = 1; i < relevant.length; i++) gap = Math.max(gap, relevant[i]! - relevant[i - 1]!);
  const firstAfter = relevant.find((t) => t >= (f.end ?? f.start));
  // None after it: everything it held up was delivered while it lasted (a fault at the end of the load).
  const after = firstAfter === undefined ? 'no delivery after it (nothing left to deliver)' : `first delivery after it ${((firstAfter - (f.end ?? f.start)) / 1000).toFixed(1)} s after`;
  return `${took}longest gap in deliveries around it ${(gap / 1000).toFixed(1)} s; ${after}`;
};
say('faults:');
for (const f of faults) say(`  +${((f.start - loadStart) / 1000).toFixed(0).padStart(4)} s  ${f.name.padEnd(48)} ${heal(f)}`);
// How long each destination stood still: in all, and apart from the faults that stop it by design
// (the buyer down, the only broker killed, enrich stopped): the latter is the pipeline's own
// recovery, e.g. a killed process's partitions waiting to move, which should take no longer than
// a session timeout.
const stopWindows = faults.filter((f) => f.stops && f.end !== null).map((f) => ({ start: f.start, end: f.end!, affects: f.affects }));
const rawStalls = stalls(allEvents, loadStart, loadEnd);
const ownStalls = stalls(allEvents, loadStart, loadEnd, stopWindows);
say(`longest time without a delivery per destination while leads were flowing: in all / apart from faults that stop it by design (session timeout ${SESSION_TIMEOUT_MS / 1000} s):`);
for (const [dest, s] of Object.entries(rawStalls)) {
  const own = ownStalls[dest]!;
  say(`  ${dest.padEnd(26)} ${(s.longestMs / 1000).toFixed(1).padStart(6)} s at +${((s.at - loadStart) / 1000).toFixed(0)} s / ${(own.longestMs / 1000).toFixed(1).padStart(6)} s at +${((own.at - loadStart) / 1000).toFixed(0)} s`);
}
// Where the time went for the first lead each destination got after its longest stall: the hops'
// times from its history show which stage held it (enrich, route, the deliver process).
for (const [dest, own] of Object.entries(ownStalls)) {
  if (own.longestMs <= SESSION_TIMEOUT_MS) continue;
  const end = own.at + own.longestMs;
  const first = allEvents.find((e) => e.type === 'delivered' && e.destination === dest && e.at.getTime() === end);
  const evs = first ? (historyByLead.get(first.leadId) ?? []).sort((a, b) => a.at.getTime() - b.at.getTime()) : [];
  say(`  after ${dest}'s stall, its first delivery's lead went: ${evs.map((e) => `${e.type}@${e.stage} ${((e.at.getTime() - own.at) / 1000).toFixed(1)} s`).join(', ') || 'no history'} (from the stall's start)`);
}
const longestOwn = Math.max(0, ...Object.values(ownStalls).map((s) => s.longestMs));
say(`destinations stood still at most ${(longestOwn / 1000).toFixed(1)} s apart from faults that stop them by design: ${longestOwn <= SESSION_TIMEOUT_MS ? 'within' : 'LONGER than'} the session timeout (${SESSION_TIMEOUT_MS / 1000} s)`);
const line =
  `accepted ${report.accepted} | delivered buyer ${report.delivered.buyer}, sms ${report.delivered.sms}, search ${report.delivered.search} | ` +
  `DLQ buyer ${report.dead.buyer}, sms ${report.dead.sms}, search ${report.dead.search} | LOST ${lost} | ` +
  `duplicate buyer deliveries ${report.duplicateDeliveries} (${report.duplicatesWithOtherKey} with another key) | texted twice ${report.textedTwice.length} | ` +
  `history incomplete ${history.incomplete.length}, duplicate events ${history.duplicateEvents} | drained ${((drainedAt - loadEnd) / 1000).toFixed(0)} s after the load | ` +
  `restarts ${Object.entries(restarts).filter(([, n]) => n > 0).map(([n, c]) => `${n}=${c}`).join(' ') || 'none'}`;
say(`ledger (${cluster ? 'three brokers' : 'one broker'}, ${leads} leads at ${rate}/s${backlog ? ', enrich stopped while they arrive' : ''}): ${line}`);
if (lost > 0) {
  // What each lost lead went through, from its history: where to look.
  for (const [need, id] of outstanding.slice(0, 5)) {
    const lead = load.accepted.find((l) => l.leadId === id);
    const evs = (historyByLead.get(id!) ?? []).sort((a, b) => a.at.getTime() - b.at.getTime());
    say(`lost at ${need}: ${id} (${lead?.market}, phone …${lead?.phone.slice(-4)}): ${evs.map((e) => `${e.type}${e.destination ? `@${e.destination}` : ''}${e.detail ? ` (${e.detail.slice(0, 90)})` : ''}`).join(' → ') || 'no history'}`);
  }
}
for (const phone of report.textedTwice.slice(0, 5)) {
  // Who was texted twice, and what their lead went through: where to look.
  for (const lead of load.accepted.filter((l) => l.phone === phone)) {
    const evs = (historyByLead.get(lead.leadId) ?? []).sort((a, b) => a.at.getTime() - b.at.getTime());
    say(`texted twice: ${lead.leadId} (phone …${phone.slice(-4)}): ${evs.map((e) => `${e.type}@${e.stage}${e.destination ? `/${e.destination}` : ''}${e.detail ? ` (${e.detail.slice(0, 90)})` : ''}`).join(' → ') || 'no history'}`);
    // What the providers hold, with times: which text the history shows, and when the other went
    // out relative to the faults above (the history keeps one delivered event per destination).
    const texts = sandbox.sms.flatMap((p) => p.sent.filter((t) => t.to === phone).map((t) => `${p.name} ${t.id} at +${((t.at - loadStart) / 1000).toFixed(1)} s (key ${t.key ?? 'none'})`));
    const times = evs.map((e) => `${e.type}@${e.stage} +${((e.at.getTime() - loadStart) / 1000).toFixed(1)} s`);
    say(`  texts: ${texts.join('; ')}`);
    say(`  history times: ${times.join(', ')}`);
  }
}
if (history.incomplete.length > 0) say(`history incomplete, first few: ${JSON.stringify(history.incomplete.slice(0, 5))}`);
fs.mkdirSync('bench-results', { recursive: true });
fs.writeFileSync(path.join('bench-results', `chaos-${backlog ? 'backlog' : cluster ? 'cluster' : 'single'}-${run}.json`), JSON.stringify({ leads, rate, cluster, line, report: { ...report, lost: { buyer: report.lost.buyer.length, sms: report.lost.sms.length, search: report.lost.search.length } }, faults, restarts, stalls: { all: rawStalls, apartFromStops: ownStalls }, history: { incomplete: history.incomplete.length, duplicateEvents: history.duplicateEvents } }, null, 2));
const failed = lost > 0 || report.textedTwice.length > 0 || history.incomplete.length > 0 || history.duplicateEvents > 0 || report.duplicatesWithOtherKey > 0;
say(failed ? 'FAILED' : 'passed: nothing lost, nobody texted twice, every history complete');
process.exit(failed ? 1 : 0);
