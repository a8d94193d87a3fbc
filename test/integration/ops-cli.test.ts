/**
 * `lead-router status` and `lead-router replay` against the running stack: status lists every
 * group with its members, partitions and lag, and each role process's readiness; a DLQ replay
 * (dry run, then with an edit) delivers dead leads once and a second run sends nothing; a
 * leads.raw replay after a rules change delivers a lead the old rules rejected, and skips what
 * was already delivered.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { usLeadBody } from '../support/fixtures.js';
import { postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';

let h: Harness;
let router: RouterProcess;
let ingest: string;
const started = Date.now();

function setSelfSource(source: string, on: boolean): void {
  const file = h.env.ROUTER_CONFIG!;
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { routing: { selfSources: string[] } };
  doc.routing.selfSources = doc.routing.selfSources.filter((s) => s !== source).concat(on ? [source] : []);
  fs.writeFileSync(file, YAML.stringify(doc));
}

before(async () => {
  h = await startHarness('opscli');
  setSelfSource('partner-feed', true); // the rules before the change the raw replay is for
  router = await h.spawnRouter(['all']);
  ingest = router.ingestUrl!;
});
after(async () => {
  await h?.close();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/lead-router.js', ...args], { env: { ...h.env, ADMIN_TARGETS: `all=${router.adminUrl}` }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}
const accepted = (leadId: string) => h.sandbox.buyerUs.received.filter((r) => r.leadId === leadId && r.accepted);

test('status: every group, its members and partitions, lag per partition, each role process ready', { timeout: 180_000 }, async () => {
  await postLead(ingest, usLeadBody());
  const r = await cli(['status', '--json']);
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
  const status = JSON.parse(r.stdout) as { stages: { stage: string; members: { assignment: Record<string, number[]> }[]; partitions: { lag: number; owner: string | null }[] }[]; targets: { ready: boolean; roles: string[] }[] };
  const enrich = status.stages.find((s) => s.stage === 'enrich')!;
  assert.equal(enrich.members.length, 1);
  assert.deepEqual(Object.values(enrich.members[0]!.assignment)[0], [0, 1, 2, 3, 4, 5], 'one member holds all six partitions');
  assert.equal(enrich.partitions.length, 6);
  assert.ok(enrich.partitions.every((p) => p.owner !== null));
  assert.equal(status.targets[0]!.ready, true);
  assert.ok(status.targets[0]!.roles.includes('enrich'));
  const text = await cli(['status']);
  assert.match(text.stdout, /Consumer groups:/);
  assert.match(text.stdout, /enrich\s+group \S+enrich\s+Stable\s+1 member/);
  assert.match(text.stdout, /all\s+http:\/\/127\.0\.0\.1:\d+\s+ready/);
});

test('replay --from dlq: a dry run sends nothing; then an edited replay delivers each dead lead once; a second run skips them', { timeout: 180_000 }, async () => {
  h.sandbox.buyerUs.setMode('error500');
  const dlq = await h.reader(h.topology.topics.dlq);
  const ids = [];
  for (let i = 0; i < 2; i++) ids.push((await postLead(ingest, usLeadBody({ vendorLeadId: `cli-dlq-${i}-${Date.now()}` }))).json.leadId as string);
  for (const id of ids) await dlq.waitFor((e) => e.leadId === id && e.delivery?.destination === 'primary:buyer-us', 60_000);
  await h.sandbox.buyerUs.setMode('healthy');

  const dry = await cli(['replay', '--from', 'dlq', '--destination', 'primary:buyer-us', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout).replayed, 2);
  assert.match(dry.stderr, /2 dead lead\(s\) in \S+leads\.dlq with destination primary:buyer-us/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(ids.flatMap(accepted).length, 0, 'a dry run delivers nothing');

  const editFile = path.join(h.logDir, 'edit.json');
  fs.writeFileSync(editFile, JSON.stringify({ jobTitle: 'Registered Nurse' }));
  const run = await cli(['replay', '--from', 'dlq', '--destination', 'primary:buyer-us', '--edit', editFile]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Replaying them to their destinations' topics with the edit of jobTitle/);
  assert.match(run.stdout, /replayed 2, skipped 0, failed 0/);
  for (const id of ids) {
    const got = await waitUntil(`${id} at the buyer`, () => accepted(id)[0], 30_000);
    assert.equal((JSON.parse(got.body) as { jobTitle: string }).jobTitle, 'Registered Nurse');
  }

  const again = await cli(['replay', '--from', 'dlq', '--destination', 'primary:buyer-us']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /replayed 0, skipped 2/);
  await new Promise((r) => setTimeout(r, 1500));
  for (const id of ids) assert.equal(accepted(id).length, 1, 'delivered once');
});

test('replay --topic leads.raw after a rules change: says what it will do, delivers what the old rules rejected, skips what was delivered', { timeout: 180_000 }, async () => {
  const delivered = (await postLead(ingest, usLeadBody())).json.leadId as string;
  const rejected = (await postLead(ingest, usLeadBody({ source: 'partner-feed' }))).json.leadId as string;
  await waitUntil('the first lead at the buyer', () => accepted(delivered).length > 0, 30_000);
  await (await h.reader(h.topology.topics.rejected)).waitFor((e) => e.leadId === rejected, 30_000);
  // The rules change: partner-feed is no longer treated as one of our own sources.
  setSelfSource('partner-feed', false);
  const since = new Date(started).toISOString();

  const dry = await cli(['replay', '--topic', 'leads.raw', '--since', since, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, /Dry run: would re-run the leads written to \S+leads\.raw from \S+ to … through enrich and route with the rules in/);
  const plan = JSON.parse(dry.stdout) as { leads: number; rejected: number; destinations: Record<string, { deliver: number; alreadyDelivered: number; inFlight: number }> };
  assert.equal(plan.rejected, 0);
  assert.equal(plan.destinations['primary:buyer-us']!.deliver, 1, 'only the lead the old rules rejected');
  assert.ok(plan.destinations['primary:buyer-us']!.alreadyDelivered >= 2);
  assert.equal(accepted(rejected).length, 0, 'a dry run delivers nothing');

  const run = await cli(['replay', '--topic', 'leads.raw', '--since', since]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^Re-running the leads written to/m);
  assert.match(run.stdout, /primary:buyer-us\s+sent 1, already delivered \d+, in flight 0/);
  await waitUntil('the once-rejected lead at the buyer', () => accepted(rejected).length > 0, 30_000);

  const again = await cli(['replay', '--topic', 'leads.raw', '--since', since, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as typeof plan;
  assert.equal(second.destinations['primary:buyer-us']!.deliver, 0, 'a second run sends nothing new');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(accepted(rejected).length, 1);
  assert.equal(accepted(delivered).length, 1, 'the delivered lead was not delivered again');
});

test('status says what is down once the router stops', { timeout: 120_000 }, async () => {
  await router.stop('SIGTERM');
  const r = await cli(['status']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /enrich\s+group \S+\s+Empty\s+0 member\(s\).*DOWN/);
  assert.match(r.stdout, /enrich\s+down/);
  assert.match(r.stdout, /all\s+http:\S+\s+UNREACHABLE/);
});
