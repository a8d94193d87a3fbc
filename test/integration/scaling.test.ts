/**
 * Scaling, shown: enrich and sink-search run as three processes each. Their consumer groups
 * spread the six partitions two per process; a process killed (SIGKILL, no goodbye) under load
 * leaves its partitions waiting until the broker gives up on it (the session timeout), and the
 * lag of exactly those partitions shows on a role's /metrics meanwhile; then they move to the
 * survivors and the lag drains. Timings are printed for the README.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { Admin } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs.js';
import { readClusterStatus, type StageStatus } from '../../src/ops/cluster-status.js';
import { usLeadBody } from '../support/fixtures.js';
import { BROKERS, postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';

const { Kafka, logLevel } = kafkajs;

let h: Harness;
let admin: Admin;
let ingest: RouterProcess;
const enrich: RouterProcess[] = [];
const search: RouterProcess[] = [];
let loading = true;
/** The instance the restart test leaves running: with its 5-minute session it would hear of a rebalance only every 30 s. */
let restartedSlot: RouterProcess | undefined;
let load: Promise<void>;

before(async () => {
  h = await startHarness('scaling', { env: { LAG_MONITOR_EVERY_MS: '500' } });
  for (let i = 0; i < 3; i++) enrich.push(await h.spawnRouter(['enrich']));
  for (let i = 0; i < 3; i++) search.push(await h.spawnRouter(['sink-search']));
  await h.spawnRouter(['route', 'sink-primary', 'sink-sms', 'sink-backup', 'sink-history']);
  ingest = await h.spawnRouter(['ingest']);
  admin = new Kafka({ clientId: 'scaling-test', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  // Steady load for the whole test: about 40 leads a second.
  load = (async () => {
    while (loading) {
      await Promise.all(Array.from({ length: 4 }, () => postLead(ingest.ingestUrl!, usLeadBody()).catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
});
after(async () => {
  loading = false;
  await load;
  await admin?.disconnect();
  await h?.close();
});

const stage = async (name: string): Promise<StageStatus> => (await readClusterStatus(admin, h.topology)).stages.find((s) => s.stage === name)!;
const partitionsOf = (s: StageStatus) => s.members.map((m) => Object.values(m.assignment).flat().sort((a, b) => a - b));

/** The group's lag per partition as a role's /metrics shows it (the ingest process's lag monitor). */
async function scrapeLag(group: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${ingest.adminUrl}/metrics`)).text();
  const lag = new Map<number, number>();
  for (const m of text.matchAll(/^leadrouter_consumer_lag_records\{([^}]*)\} (\S+)$/gm)) {
    if (!m[1]!.includes(`group="${group}"`)) continue;
    lag.set(Number(/partition="(\d+)"/.exec(m[1]!)![1]), Number(m[2]));
  }
  return lag;
}

test('enrich ×3 and sink-search ×3 spread their partitions; a killed process\'s partitions move, its lag visible meanwhile', { timeout: 300_000 }, async () => {
  for (const [name, processes] of [['enrich', enrich], ['sink-search', search]] as const) {
    const group = h.topology.stages.find((s) => s.name === name)!.group!;
    const before = await waitUntil(`${name}: three members, two partitions each`, async () => {
      const s = await stage(name);
      const parts = partitionsOf(s);
      return s.members.length === 3 && parts.every((p) => p.length === 2) && new Set(parts.flat()).size === 6 ? s : null;
    }, 90_000, 500);
    const owners = new Map(before.members.map((m) => [m.memberId, Object.values(m.assignment).flat()]));
    console.log(`${name}: ${[...owners].map(([id, ps]) => `…${id.slice(-8)} [${ps.join(',')}]`).join('  ')}`);

    const killedAt = Date.now();
    await processes[0]!.stop('SIGKILL');
    // Lag per partition from the ingest process's /metrics while the group still counts the dead member.
    const peak = new Map<number, number>();
    const after = await waitUntil(`${name}: partitions moved to the two survivors`, async () => {
      for (const [p, n] of await scrapeLag(group)) peak.set(p, Math.max(peak.get(p) ?? 0, n));
      const s = await stage(name);
      return s.members.length === 2 && s.state === 'Stable' && new Set(partitionsOf(s).flat()).size === 6 ? s : null;
    }, 90_000, 250);
    const movedMs = Date.now() - killedAt;
    const survivors = new Set(after.members.map((m) => m.memberId));
    const dead = [...owners].find(([id]) => !survivors.has(id));
    assert.ok(dead, 'one of the three members is gone');
    const orphaned = dead[1];
    assert.equal(orphaned.length, 2);
    for (const m of after.members) assert.equal(Object.values(m.assignment).flat().length, 3, 'the survivors hold three partitions each');
    const lagged = orphaned.filter((p) => (peak.get(p) ?? 0) > 0);
    console.log(`${name}: killed …${dead[0].slice(-8)}; partitions [${orphaned.join(',')}] moved after ${(movedMs / 1000).toFixed(1)} s; peak lag on them ${orphaned.map((p) => peak.get(p) ?? 0).join(', ')} (others ${[...peak].filter(([p]) => !orphaned.includes(p)).map(([, n]) => n).join(', ')})`);
    assert.ok(lagged.length > 0, `the dead process's partitions showed lag in /metrics: ${JSON.stringify([...peak])}`);
    await waitUntil(`${name}: the lag drains`, async () => [...(await scrapeLag(group)).values()].every((n) => n < 50), 60_000, 500);
  }
});

test('a restarted instance takes its dead predecessor\'s place at once, not after the predecessor\'s session timeout', { timeout: 300_000 }, async () => {
  // The instance's own session timeout is 5 minutes: without src/kafka/predecessor.ts the group
  // could not finish a rebalance until the dead member expired (eager protocol), far beyond the
  // 90 s this waits. With it, the restarted process removes its predecessor before joining.
  const group = h.topology.stages.find((s) => s.name === 'enrich')!.group!;
  const slot = { LEAD_ROUTER_INSTANCE: 'enrich-slot', KAFKA_SESSION_TIMEOUT_MS: '300000' };
  const survivors = (await stage('enrich')).members.length;
  const mine = (s: StageStatus) => s.members.filter((m) => m.clientId.endsWith('@enrich-slot'));
  const first = await h.spawnRouter(['enrich'], slot);
  const before = await waitUntil('enrich: the named instance joined', async () => {
    const s = await stage('enrich');
    return s.state === 'Stable' && s.members.length === survivors + 1 && mine(s).length === 1 ? mine(s)[0]! : null;
  }, 90_000, 250);
  const killedAt = Date.now();
  await first.stop('SIGKILL');
  restartedSlot = await h.spawnRouter(['enrich'], slot);
  const after = await waitUntil('enrich: the restarted instance replaced its predecessor', async () => {
    const s = await stage('enrich');
    const named = mine(s);
    return s.state === 'Stable' && named.length === 1 && named[0]!.memberId !== before.memberId && s.members.length === survivors + 1 &&
      new Set(partitionsOf(s).flat()).size === 6 ? s : null;
  }, 90_000, 250);
  console.log(`enrich: instance restarted; group stable again with ${after.members.length} members after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (its session timeout: 300 s)`);
});

test('a process its supervisor saw die is removed from its groups at once: the survivors take its partitions, no restart needed', { timeout: 300_000 }, async () => {
  // As npm start and the chaos suite do (src/ops/evict.ts): the dead process's own session
  // timeout is 5 minutes, so only the eviction can move its partitions within the 60 s this waits.
  await restartedSlot?.stop();
  const slot = { LEAD_ROUTER_INSTANCE: 'enrich-evicted', KAFKA_SESSION_TIMEOUT_MS: '300000' };
  const survivors = (await stage('enrich')).members.length;
  const named = (s: StageStatus) => s.members.filter((m) => m.clientId.endsWith('@enrich-evicted'));
  const doomed = await h.spawnRouter(['enrich'], slot);
  await waitUntil('enrich: the named instance joined', async () => {
    const s = await stage('enrich');
    return s.state === 'Stable' && s.members.length === survivors + 1 && named(s).length === 1 ? s : null;
  }, 90_000, 250);
  const killedAt = Date.now();
  await doomed.stop('SIGKILL');
  // What a systemd unit's ExecStopPost runs (README, production).
  const evicted = spawnSync(process.execPath, ['bin/lead-router.js', 'evict', 'enrich-evicted', 'enrich'], { env: h.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(evicted.status, 0, evicted.stderr);
  assert.match(evicted.stdout, /^enrich-evicted: 1 member removed from its consumer groups$/m);
  const moved = await waitUntil('enrich: the survivors took every partition', async () => {
    const s = await stage('enrich');
    return s.state === 'Stable' && named(s).length === 0 && s.members.length === survivors && new Set(partitionsOf(s).flat()).size === 6 ? s : null;
  }, 60_000, 250);
  console.log(`enrich: killed member evicted; its partitions with the ${moved.members.length} survivors after ${((Date.now() - killedAt) / 1000).toFixed(1)} s (its session timeout: 300 s)`);
});
