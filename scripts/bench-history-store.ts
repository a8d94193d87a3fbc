/**
 * `npm run bench:history-store`: the history store's real write and read paths
 * (src/history/store.ts) against the stack's FerretDB on PostgreSQL and, for the record, a
 * FerretDB on SQLite started here on a spare port: 4 writers, unordered inserts of 500 events
 * with a quarter of them already written (what redelivery looks like), then reads of whole lead
 * histories. Also how much space the events take per lead, to size retention.
 *
 *   npm run bench:history-store -- [--leads 10000] [--no-sqlite]
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventId, type HistoryEventRecord, type HistoryEventType } from '../src/history/events.js';
import { openHistoryStore } from '../src/history/store.js';

const args = process.argv.slice(2);
const leads = args.includes('--leads') ? Number(args[args.indexOf('--leads') + 1]) : 10_000;
const TYPES: HistoryEventType[] = ['received', 'enriched', 'routed', 'delivered', 'delivered', 'delivered'];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;

function eventsFor(run: string, i: number): HistoryEventRecord[] {
  const leadId = `${run}-${String(i).padStart(7, '0')}`;
  const dests = [null, null, null, 'primary:buyer-us', 'sms:twilio', 'search:leads'];
  return TYPES.map((type, k) => {
    const e = { leadId, stage: k < 3 ? type : `sink-${k}`, type, destination: dests[k] ?? undefined, attempt: k < 3 ? undefined : 0 };
    return { eventId: eventId(e), leadId, type, at: Date.now() + k, stage: e.stage, destination: e.destination ?? null, attempt: e.attempt ?? null, detail: k === 1 ? 'email valid (verifier:mailbox_exists); tz America/Chicago; title Registered Nurse; phone MOBILE' : null, fields: (k === 0 ? { vendor: 'acme-leads', source: 'jobs-board', country: 'US' } : {}) as Record<string, string> };
  });
}

async function measure(name: string, url: string): Promise<string> {
  const store = await openHistoryStore(url, { ttlDays: 180, collection: `bench_events_${Date.now().toString(36)}` });
  const run = Date.now().toString(36);
  const all = Array.from({ length: leads }, (_, i) => eventsFor(run, i)).flat();
  const writers = 4;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const mine = all.filter((_, i) => i % writers === w);
      const replay = all.filter((_, i) => i % writers === (w + 1) % writers && i % 4 === 0); // a quarter written twice
      const work = [...mine, ...replay];
      for (let i = 0; i < work.length; i += 500) await store.write(work.slice(i, i + 500));
    }),
  );
  const writeSecs = (performance.now() - t0) / 1000;
  const reads: number[] = [];
  for (let i = 0; i < 200; i++) {
    const leadId = `${run}-${String(Math.floor(Math.random() * leads)).padStart(7, '0')}`;
    const r0 = performance.now();
    const got = await store.forLead(leadId);
    reads.push(performance.now() - r0);
    if (got.length !== new Set(TYPES.map((t, k) => `${t}${k}`)).size) throw new Error(`${name}: ${leadId} has ${got.length} events`);
  }
  await store.close();
  return `${name}: ${all.length} events (+${all.length / 4} already written) by ${writers} writers in ${writeSecs.toFixed(1)} s = ${Math.round((all.length * 1.25) / writeSecs)} inserts/s; a lead's history read p50 ${pct(reads, 50).toFixed(1)} ms, p99 ${pct(reads, 99).toFixed(1)} ms`;
}

const lines: string[] = [];
lines.push(await measure('FerretDB on PostgreSQL (the stack)', process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017/bench_history'));
const pgSize = spawnSync('psql', ['-h', '127.0.0.1', '-p', process.env.STACK_PG_PORT ?? '5433', '-U', 'postgres', '-d', 'ferretdb', '-tAc', "select sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))) from pg_tables where schemaname = 'bench_history' and tablename like 'bench_events%'"], { encoding: 'utf8' });
const bytes = Number(pgSize.stdout.trim());
if (bytes > 0) lines.push(`space: ${(bytes / 1024 / 1024).toFixed(1)} MB for ${leads} leads' events with their indexes = ${((bytes / leads) * 1e6 / 1024 / 1024 / 1024).toFixed(1)} GB per million leads (6 events each)`);

if (!args.includes('--no-sqlite')) {
  const bin = path.join(os.homedir(), 'go', 'bin', 'ferretdb');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferretdb-sqlite-'));
  const child = spawn(bin, ['--handler=sqlite', `--sqlite-url=file:${dir}/`, '--listen-addr=127.0.0.1:27118', '--debug-addr=-', `--state-dir=${dir}`, '--telemetry=disable', '--log-level=error'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1500));
  try {
    lines.push(await measure('FerretDB on SQLite (before)', 'mongodb://127.0.0.1:27118/bench_history'));
  } catch (err) {
    lines.push(`FerretDB on SQLite (before): failed: ${(err as Error).message}`);
  } finally {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
