/**
 * `npm run bench:compare`: the router and the queue design it replaces (../shared/bench), one after
 * the other on this machine, driven by the same load generator at the same rates against the same
 * recording destinations; then Kafka's own producer benchmark on a broker of the same stack as the
 * physical ceiling. Prints one table of ratios (router / queue) per rate and destination. Absolute
 * numbers move from run to run on a shared 2-core machine; the ratio within one run does not.
 *
 *   npm run bench:compare                                  5,000 / 30,000 / 60,000 / 102,000 per min, 40 s each
 *   npm run bench:compare -- --seconds 20 --rates 83,1700  other rates (per second)
 *   npm run bench:compare -- --only router --reuse-stack   one side; the running stack (fresh topics and db)
 *   npm run bench:compare -- --only router --profile       also CPU profiles of every role (--cpu-prof), summed up
 *   npm run bench:compare -- --only router --reuse-stack --quick   A/B runs: no per-hop breakdown, no Kafka ceiling
 *   BENCH_NODE_ARGS="--heapsnapshot-signal=SIGUSR2" …      extra node flags for every role process
 *
 * After each router run it prints where the time went hop by hop, from the leads' histories
 * (scripts/bench/hops.ts).
 *
 * The router gets a fresh stack of its own (under bench-results/), like the kit's side-by-side.sh:
 * stop `npm start` / the dev stack first (same ports), or pass --reuse-stack.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DEV_VENDOR_KEYS } from '../src/security/dev-credentials.js';
import { connectMongo } from '../src/history/store.js';
import { hopsSince } from './bench/hops.js';
import { kafkaCeiling } from './bench/kafka-ceiling.js';
import { summarizeProfiles } from './bench/profiles.js';
import { stageTimes } from './bench/stage-times.js';
import { countCpu, formatCpu } from './bench/cpu.js';
import { formatRss, sampleRss } from './bench/rss.js';
import { countStoreOps } from './bench/store-ops.js';
import { startQueue, startRouter, type Side } from './bench/sides.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : def);
const kit = path.resolve(opt('--kit', process.env.BENCH_KIT ?? '../shared/bench'));
if (!fs.existsSync(path.join(kit, 'router-bench.yaml'))) {
  process.stderr.write(`bench:compare: no benchmark kit at ${kit} (router-bench.yaml missing); pass --kit <dir> or BENCH_KIT\n`);
  process.exit(2);
}
const seconds = Number(opt('--seconds', '40'));
const rates = opt('--rates', '83,500,1000,1700').split(',').map(Number);
const only = opt('--only', '');
const reuseStack = args.includes('--reuse-stack');
const profile = args.includes('--profile');
// A/B runs: the latency and memory lines only, without the per-hop read of the history (minutes
// on a stack holding a run's worth of events) and Kafka's producer ceiling.
const quick = args.includes('--quick');
const outDir = path.resolve('bench-results', `compare-${new Date().toISOString().replace(/[:.]/g, '-')}`);
fs.mkdirSync(outDir, { recursive: true });
const log = (l: string) => process.stdout.write(`bench ${new Date().toISOString().slice(11, 19)} ${l}\n`);

interface DestinationResult { destination: string; delivered: number; missing: number; duplicates: number; p50: number; p99: number; leadsPerMin: number }
interface LoadReport { offeredPerMin: number; accepted: number; statuses: Record<string, number>; ack: { p50: number; p99: number }; destinations: DestinationResult[] }

function node(script: string, scriptArgs: string[], outFile?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...scriptArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(script)} exited ${code}: ${out.slice(-800)}`))));
    if (outFile) child.on('exit', () => fs.writeFileSync(outFile, out));
  });
}

async function runSide(side: Side, afterRate?: (rate: number, since: Date) => Promise<void>): Promise<Map<number, LoadReport>> {
  const results = new Map<number, LoadReport>();
  await node(path.join(kit, 'load.mjs'), ['--url', side.url, '--rate', '20', '--seconds', '5', ...side.loadArgs, '--expect', 'primary=http://127.0.0.1:18081']);
  for (const rate of rates) {
    for (const port of [18081, 18082, 18083, 18084]) await fetch(`http://127.0.0.1:${port}/_reset`, { method: 'POST' });
    log(`${side.name}: ${rate}/s (${rate * 60}/min) for ${seconds} s`);
    const since = new Date();
    const rss = side.pids ? sampleRss(side.pids) : null;
    const cpu = countCpu(side.pids);
    const storeOps = side.name === 'router' ? await countStoreOps() : null;
    const out = await node(path.join(kit, 'load.mjs'), ['--url', side.url, '--rate', String(rate), '--seconds', String(seconds), '--wait', '180', ...side.loadArgs, '--expect', 'primary=http://127.0.0.1:18081', '--expect', 'sms=http://127.0.0.1:18082', '--json'], path.join(outDir, `${side.name}-${rate}.json`));
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as LoadReport;
    results.set(rate, report);
    if (rss) {
      const peak = rss.stop();
      peakRss.set(rate, peak);
      log(`  peak RSS per process: ${formatRss(peak)}`);
    }
    log(`  ${formatCpu(cpu.stop(), report.accepted)}`);
    if (storeOps) log(`  ${await storeOps.stop(report.accepted)}`);
    const d = (n: string) => report.destinations.find((x) => x.destination === n);
    log(`  202 p99 ${Math.round(report.ack.p99)} ms | buyer p50/p99 ${Math.round(d('primary')?.p50 ?? NaN)}/${Math.round(d('primary')?.p99 ?? NaN)} ms, ${Math.round(d('primary')?.leadsPerMin ?? 0)}/min | sms p50/p99 ${Math.round(d('sms')?.p50 ?? NaN)}/${Math.round(d('sms')?.p99 ?? NaN)} ms, ${Math.round(d('sms')?.leadsPerMin ?? 0)}/min`);
    await afterRate?.(rate, since);
  }
  return results;
}

const recorder = spawn(process.execPath, [path.join(kit, 'recorder.mjs'), '--dest', 'primary:18081:json-accepted', '--dest', 'sms:18082:twilio', '--dest', 'sms2:18083:sms-json', '--dest', 'search:18084:json-accepted'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1000));
const results: Partial<Record<'router' | 'queue', Map<number, LoadReport>>> = {};
const peakRss = new Map<number, Record<string, number>>();
let ceiling = '';
try {
  if (only !== 'queue') {
    const mongoUrl = reuseStack ? `mongodb://127.0.0.1:27017/bench_${Date.now().toString(36)}` : 'mongodb://127.0.0.1:27017/leadrouter';
    const profileDir = path.join(outDir, 'profiles');
    // --cpu-prof is refused in NODE_OPTIONS: given to each role's node directly.
    const nodeArgs = [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [])];
    const router = await startRouter({ outDir, kit, reuseStack, apiKey: DEV_VENDOR_KEYS.dev1, env: { MONGO_URL: mongoUrl }, nodeArgs, log });
    const history = await connectMongo(mongoUrl);
    try {
      results.router = await runSide(router, async (rate, since) => {
        // The history sink writes a moment behind the deliveries: give it a few seconds.
        await new Promise((r) => setTimeout(r, 5000));
        if (quick) return;
        const lines = [...(await hopsSince(history, since).catch((err: Error) => [`hops not read: ${err.message}`])), ...(await stageTimes([9564, 9565, 9566, 9567, 9568]))];
        for (const l of lines) log(`  ${l}`);
        fs.writeFileSync(path.join(outDir, `router-${rate}-hops.txt`), `${lines.join('\n')}\n`);
      });
      if (!quick) ceiling = await kafkaCeiling({ outDir, env: { ...process.env, ...router.stackEnv }, log }).catch((err: Error) => `not measured: ${err.message}`);
    } finally {
      await history.close();
      await router.stop();
      if (profile) for (const l of summarizeProfiles(profileDir)) log(l);
    }
  }
  if (only !== 'router') {
    const queue = await startQueue({ outDir, kit, log });
    try {
      results.queue = await runSide(queue);
    } finally {
      await queue.stop();
    }
  }
} finally {
  recorder.kill();
}

// The table: per rate and destination, each side's p50 / p99 / delivered per minute, and router/queue.
const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const lines = ['| offered/min | destination | router p50 / p99 ms | router /min | queue p50 / p99 ms | queue /min | ratio p50 | ratio p99 | ratio /min |', '|---|---|---|---|---|---|---|---|---|'];
for (const rate of rates) {
  for (const dest of ['primary', 'sms']) {
    const r = results.router?.get(rate)?.destinations.find((d) => d.destination === dest);
    const q = results.queue?.get(rate)?.destinations.find((d) => d.destination === dest);
    const ratio = (a?: number, b?: number) => (a !== undefined && b ? fmt(a / b, 2) : '–');
    lines.push(`| ${(rate * 60).toLocaleString('en-US')} | ${dest === 'primary' ? 'buyer' : 'SMS'} | ${fmt(r?.p50)} / ${fmt(r?.p99)} | ${fmt(r?.leadsPerMin)} | ${fmt(q?.p50)} / ${fmt(q?.p99)} | ${fmt(q?.leadsPerMin)} | ${ratio(r?.p50, q?.p50)} | ${ratio(r?.p99, q?.p99)} | ${ratio(r?.leadsPerMin, q?.leadsPerMin)} |`);
  }
}
const memory = [...peakRss].map(([rate, peak]) => `- at ${(rate * 60).toLocaleString('en-US')}/min: ${formatRss(peak)}`).join('\n');
const table = `${lines.join('\n')}\n\nRouter processes' peak RSS while the load ran:\n${memory || '- not measured'}\n\nKafka's own producer on the router's broker (the ceiling): ${ceiling || 'not measured'}\n`;
fs.writeFileSync(path.join(outDir, 'table.md'), table);
process.stdout.write(`\n${table}\nresults in ${outDir}\n`);
