/**
 * Distribution on the real stack (Kafka, registry, FerretDB): leads POSTed to ingest, enriched,
 * routed by source to a buyer group, and distributed by sink-primary processes to sandbox buyers
 * that answer in their own formats. The waterfall moves on at once past a buyer that rejects, is
 * full or is closed; round robin spreads within ±1; weighted follows its weights over 2,000 leads;
 * an auction sells to the highest bid in the window and ignores a late bidder; a return is
 * credited and the lead sold again; and a cap of 100 holds exactly with three sink-primary
 * processes, one of them SIGKILLed mid-run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { marketResponseMapping, startMarketBuyer, type BuyerFormat, type MarketBehaviour, type MarketBuyer } from '../../sandbox/market-buyer.js';
import { BUYER_KEY_PREFIX, DEV_PEPPER, hashCredential, mintCredential } from '../../src/security/credentials.js';
import { capWindows } from '../../src/distribution/caps.js';
import { CAP_SLOTS_COLLECTION, openCapStore } from '../../src/sinks/primary/cap-store.js';
import { leadEvent, usLeadBody } from '../support/fixtures.js';
import { OPERATOR_HEADERS, postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';

const RETURN_KEY = mintCredential(BUYER_KEY_PREFIX, 'ra1').value;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

const SPEC: Record<string, { format?: BuyerFormat; behaviour?: Partial<MarketBehaviour>; terms?: Record<string, unknown> }> = {
  wa: { behaviour: { decision: 'reject', reason: 'duplicate' } },
  wb: { format: 'text', terms: { caps: { total: 1 } } },
  wc: { format: 'xml', terms: { timezone: 'UTC', schedule: { holidays: [day(-1), day(0), day(1)] } } },
  wd: {},
  r1: {}, r2: {}, r3: {},
  w60: {}, w20a: {}, w20b: {},
  ac: { behaviour: { bid: 9 } },
  ad: { behaviour: { bid: 50, bidDelayMs: 900 } },
  ae: { behaviour: { bid: 12 } },
  cap1: { terms: { timezone: 'UTC', caps: { day: 100 }, concurrency: 4, timeoutMs: 5000 } },
  over: {},
  ra: { terms: { price: 15 } },
  rb: { terms: { price: 20 } },
};
const GROUPS = {
  water: { buyers: ['wa', 'wb', 'wc', 'wd'] },
  rr: { method: 'round-robin', buyers: ['r1', 'r2', 'r3'] },
  wt: { method: 'weighted', buyers: [{ name: 'w60', weight: 3 }, { name: 'w20a', weight: 1 }, { name: 'w20b', weight: 1 }] },
  auc: { method: 'auction', buyers: ['ac', 'ad', 'ae'], bidWindowMs: 300 },
  capg: { buyers: ['cap1', 'over'] },
  ret: { buyers: ['ra', 'rb'], redistributeOnReturn: true },
};

const market: Record<string, MarketBuyer> = {};
let h: Harness;
let front: RouterProcess;
const sinks: RouterProcess[] = [];

before(async () => {
  for (const [name, s] of Object.entries(SPEC)) market[name] = await startMarketBuyer({ name, format: s.format ?? 'json', behaviour: s.behaviour ?? {} });
  h = await startHarness('distribution', {
    router(router) {
      for (const [name, s] of Object.entries(SPEC)) {
        const pinged = s.behaviour?.bid !== undefined;
        router.primary.buyers[name] = {
          url: `${market[name]!.url}/leads`,
          timeoutMs: 2000,
          response: marketResponseMapping(s.format ?? 'json'),
          price: 10,
          ...(pinged ? { ping: { url: `${market[name]!.url}/ping`, timeoutMs: 1000 }, price: undefined } : {}),
          ...s.terms,
        };
        if (pinged) delete router.primary.buyers[name].price;
      }
      router.primary.groups = GROUPS;
      router.routing.selfSources = [...router.routing.selfSources, ...Object.keys(SPEC)];
      router.routing.rules.unshift(...Object.keys(GROUPS).map((g) => ({ name: `dist-${g}`, priority: 50, when: { source: g }, then: { primary: g, sms: [], search: false } })));
      router.security.buyers = { ra: { keys: [{ id: 'ra1', hash: hashCredential(DEV_PEPPER, RETURN_KEY) }] } };
    },
  });
  front = await h.spawnRouter(['ingest', 'enrich', 'route', 'sink-backup', 'sink-history']);
  sinks.push(await h.spawnRouter(['sink-primary']));
});
after(async () => {
  await h?.close();
  await Promise.all(Object.values(market).map((m) => m.close()));
});

/** Posts as a vendor does: a 503 (ingest shedding load: nothing kept) is retried after a pause. */
async function postOne(source: string) {
  for (let tries = 1; ; tries++) {
    const r = await postLead(front.ingestUrl!, usLeadBody({ source }));
    if (r.status !== 503 || tries === 20) return r;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
async function post(source: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => postOne(source)));
    for (const r of batch) {
      assert.equal(r.status, 202, JSON.stringify(r.json));
      ids.push(r.json.leadId as string);
    }
  }
  return ids;
}
type Event = { type: string; destination?: string; detail?: string };
async function history(leadId: string, until: (events: Event[]) => boolean): Promise<Event[]> {
  return waitUntil(`history of ${leadId}`, async () => {
    const res = await fetch(`${front.ingestUrl}/v1/leads/${leadId}`, { headers: OPERATOR_HEADERS });
    if (res.status !== 200) return null;
    const events = ((await res.json()) as { events: Event[] }).events;
    return until(events) ? events : null;
  }, 60_000, 250);
}
const soldTo = (ids: string[], buyers: string[]) => Object.fromEntries(buyers.map((b) => [b, ids.filter((id) => market[b]!.accepted.includes(id)).length]));
const allSold = (ids: string[], buyers: string[]) => ids.every((id) => buyers.some((b) => market[b]!.accepted.includes(id)));

test('waterfall: past a buyer that rejects, one that is full and one that is closed, at once, each reason in the history', async () => {
  const [first] = await post('water', 1);
  await waitUntil('the first lead sold to wb (wa rejected it)', () => market.wb!.accepted.includes(first!));
  const [second] = await post('water', 1);
  await waitUntil('the second lead sold to wd', () => market.wd!.accepted.includes(second!));
  const events = await history(second!, (ev) => ev.some((e) => e.type === 'delivered'));
  const about = (b: string) => events.find((e) => e.destination === `primary:${b}` && e.type !== 'delivered');
  assert.deepEqual([about('wa')?.type, about('wa')?.detail], ['declined', 'rejected by buyer: duplicate']);
  assert.deepEqual([about('wb')?.type, about('wb')?.detail], ['skipped', 'capped: total 1/1']);
  assert.equal(about('wc')?.type, 'skipped');
  assert.match(about('wc')!.detail!, /^closed: opens (\d{4}-\d{2}-\d{2} )?\w{3} 00:00 UTC$/);
  assert.match(events.find((e) => e.type === 'delivered')!.detail!, /^sold at 10 \(fixed\); buyer lead id wd-\d+$/);
  assert.equal(market.wc!.received.filter((r) => r.leadId === second).length, 0, 'the closed buyer was not sent it');
});

test('lead-router route --explain: every buyer of the group, with the live cap count from MongoDB', () => {
  const { leadId: _i, hops: _h, delivery: _d, rejection: _r, deadLetter: _x, receivedAt: _a, ...enriched } = leadEvent({ source: 'water' });
  const run = spawnSync(process.execPath, ['bin/lead-router.js', 'route', '--explain'], { env: h.env, input: JSON.stringify(enriched) + '\n', encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const record = JSON.parse(run.stdout) as { rule: string; distribution: string[] };
  assert.equal(record.rule, 'dist-water');
  assert.equal(record.distribution[0], 'group water: priority, exclusive (1 buyer), retry failing buyers for 60s');
  assert.deepEqual(record.distribution.filter((l) => /^  \d\./.test(l)), ['  1. wa at 10 (fixed)', '  2. wd at 10 (fixed)']);
  assert.ok(record.distribution.includes('  - wb: capped: total 1/1'), record.distribution.join('\n'));
  assert.ok(record.distribution.some((l) => /^  - wc: closed: opens /.test(l)));
});

test('the cap store alone: 3 clients, 150 leads each reserved twice at once, a cap of 40: exactly 40 leads, each once', async () => {
  const clients = await Promise.all([0, 1, 2].map(() => new MongoClient(h.env.MONGO_URL!, { maxPoolSize: 8 }).connect()));
  try {
    const stores = await Promise.all(clients.map((c) => openCapStore(c.db())));
    const now = Date.now();
    const windows = capWindows({ hour: 40, day: 100 }, now, 'UTC');
    // A RetriableError (the store slow to answer) is tried again, as the sink's batch would be:
    // reservations are idempotent, so a retry after a half-done attempt still counts once.
    const reserve = async (i: number): Promise<boolean> => {
      for (;;) {
        try {
          return (await stores[i % 3]!.reserve('store-test', `lead-${i % 150}`, windows, now)).ok;
        } catch (err) {
          if ((err as Error).name !== 'RetriableError') throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => reserve(i).then((ok) => ({ ok }))));
    const admitted = new Set(results.flatMap((r, i) => (r.ok ? [`lead-${i % 150}`] : [])));
    assert.equal(admitted.size, 40);
    const slots = clients[0]!.db().collection(CAP_SLOTS_COLLECTION);
    assert.equal(await slots.countDocuments({ buyer: 'store-test' }), 80, 'one hour slot and one day slot per admitted lead');
    // Giving back is idempotent: twice is once.
    const [first] = [...admitted];
    await stores[1]!.release('store-test', first!);
    await stores[2]!.release('store-test', first!);
    assert.equal(await slots.countDocuments({ buyer: 'store-test' }), 78);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
});

test('round robin: 30 leads, each buyer within ±1 of the others', async () => {
  const ids = await post('rr', 30);
  await waitUntil('all 30 sold', () => allSold(ids, ['r1', 'r2', 'r3']), 60_000);
  const counts = Object.values(soldTo(ids, ['r1', 'r2', 'r3']));
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, String(counts));
});

test('weighted 3:1:1 over 2,000 leads: each share within 5% of its weight', { timeout: 600_000 }, async () => {
  const started = Date.now();
  const ids = await post('wt', 2000);
  await waitUntil('all 2,000 sold', () => allSold(ids, ['w60', 'w20a', 'w20b']), 400_000, 1000);
  const counts = soldTo(ids, ['w60', 'w20a', 'w20b']);
  process.stderr.write(`weighted: ${JSON.stringify(counts)} in ${Math.round((Date.now() - started) / 1000)} s\n`);
  assert.ok(Math.abs(counts.w60! / 2000 - 0.6) < 0.05, JSON.stringify(counts));
  assert.ok(Math.abs(counts.w20a! / 2000 - 0.2) < 0.05, JSON.stringify(counts));
  assert.ok(Math.abs(counts.w20b! / 2000 - 0.2) < 0.05, JSON.stringify(counts));
});

test('auction: the highest bid within the 300 ms window wins; the bidder that answers late is ignored', async () => {
  const [id] = await post('auc', 1);
  await waitUntil('the lead sold to ae (12 beats 9; 50 came too late)', () => market.ae!.accepted.includes(id!));
  const events = await history(id!, (ev) => ev.some((e) => e.type === 'delivered'));
  assert.match(events.find((e) => e.destination === 'primary:ad')!.detail!, /^bid late: \d+ms > 300ms/);
  assert.match(events.find((e) => e.type === 'delivered')!.detail!, /^sold at 12 \(bid\)/);
  assert.ok(market.ad!.pings.some((p) => p.leadId === id), 'the late bidder was pinged');
  assert.equal(market.ad!.received.filter((r) => r.path === '/leads' && r.leadId === id).length, 0, 'and never got the lead');
  assert.equal(market.ac!.received.filter((r) => r.path === '/leads' && r.leadId === id).length, 0, 'the lower bid was not needed');
});

test('a return credits the buyer and the lead is sold to the next one; the revenue report shows both', async () => {
  const [id] = await post('ret', 1);
  await waitUntil('sold to ra', () => market.ra!.accepted.includes(id!));
  await history(id!, (ev) => ev.some((e) => e.type === 'delivered'));
  const res = await fetch(`${front.ingestUrl}/v1/leads/${id}/returns`, { method: 'POST', headers: { 'x-api-key': RETURN_KEY, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'wrong_number' }) });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { leadId: id, buyer: 'ra', credited: 15, redistributed: true, duplicate: false });
  await waitUntil('redistributed to rb', () => market.rb!.accepted.includes(id!));
  const events = await history(id!, (ev) => ev.some((e) => e.type === 'delivered' && e.destination === 'primary:rb'));
  assert.match(events.find((e) => e.type === 'returned')!.detail!, /reason wrong_number; credited 15; redistributed/);
  const report = spawnSync(process.execPath, ['bin/lead-router.js', 'report', 'revenue', '--by', 'buyer', '--since', '1h', '--csv'], { env: h.env, encoding: 'utf8' });
  assert.equal(report.status, 0, report.stderr);
  const rows = Object.fromEntries(report.stdout.trim().split('\n').slice(1).map((l) => [l.split(',')[0], l]));
  assert.equal(rows.ra, 'ra,1,15.00,1,15.00,0.00');
  assert.equal(rows.rb, 'rb,1,20.00,0,0.00,20.00');
});

test('a cap of 100 a day holds exactly with 3 sink-primary processes, one SIGKILLed mid-run', { timeout: 600_000 }, async () => {
  sinks.push(await h.spawnRouter(['sink-primary']), await h.spawnRouter(['sink-primary']));
  await new Promise((r) => setTimeout(r, 8000)); // the group rebalances over three members
  await market.cap1!.setMode('slow', 300); // requests in flight when the process dies (4 per process)
  const posting = post('capg', 300);
  await waitUntil('some of the cap used', () => market.cap1!.accepted.length >= 20, 180_000, 20);
  const atKill = market.cap1!.accepted.length;
  await sinks[1]!.stop('SIGKILL');
  assert.ok(atKill < 100, `killed mid-run (${atKill} sold)`);
  const ids = await posting;
  await waitUntil('every lead sold to cap1 or over', () => allSold(ids, ['cap1', 'over']), 300_000, 1000);
  const mine = ids.filter((id) => market.cap1!.accepted.includes(id));
  const replayed = market.cap1!.received.filter((r) => r.replayed).length;
  process.stderr.write(`cap: ${atKill} sold when a sink was killed; cap1 ${new Set(mine).size}, over ${ids.length - new Set(mine).size}; ${replayed} redelivered requests answered from the buyer's idempotency record\n`);
  assert.equal(new Set(mine).size, 100, 'exactly the cap, never 101');
  assert.equal(ids.filter((id) => market.cap1!.accepted.includes(id) && market.over!.accepted.includes(id)).length, 0, 'each lead sold once (exclusive)');
  const mongo = new MongoClient(h.env.MONGO_URL!);
  try {
    assert.equal(await mongo.db().collection(CAP_SLOTS_COLLECTION).countDocuments({ buyer: 'cap1' }), 100, 'one slot per lead sold, none counted twice');
    // A payout is written after the buyer's answer: the last few may still be on their way.
    const payouts = () => mongo.db().collection('payouts').countDocuments({ buyer: 'cap1', kind: 'sale' });
    await waitUntil('a payout per sale', async () => (await payouts()) >= 100, 30_000, 500).catch(() => undefined);
    assert.equal(await payouts(), 100);
  } finally {
    await mongo.close();
  }
});
