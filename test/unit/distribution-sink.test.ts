/**
 * sink-primary's distribution wired end to end in one process: sandbox buyers over HTTP (their own
 * reply formats, pings), in-memory stores, and the stage's settle(): waterfall, caps at plan and
 * at send time, schedules, transient failures within a deadline then the next buyer, unsold,
 * shared leads, round robin, auctions, and a rule naming one buyer as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { marketResponseMapping, startMarketBuyer, type MarketBuyer } from '../../sandbox/market-buyer.js';
import { startBuyer } from '../../sandbox/buyer.js';
import { distributionSchema } from '../../src/distribution/buyer-schema.js';
import type { DistributionOutcome } from '../../src/distribution/outcome.js';
import type { LeadEvent } from '../../src/lead.js';
import { createDistributionSink } from '../../src/sinks/primary/distribution-sink.js';
import { settle } from '../../src/stages/outcomes.js';
import avro from 'avsc';
import { readSchema } from '../../src/kafka/codec.js';
import { leadEvent } from '../support/fixtures.js';
import { memoryStores, type MemoryStores } from '../support/memory-distribution.js';

const SUNDAY_NOON_CHICAGO = Date.parse('2026-12-06T18:00:00Z');
const policy = { baseDelayMs: 1000, maxDelayMs: 10_000, maxAttempts: 4, maxAgeMs: 600_000 };
const topology = { topics: { backup: 'leads.backup', dlq: 'leads.dlq', unsold: 'leads.unsold', events: 'leads.events', primary: 'leads.primary', search: 'leads.search', sms: {} } } as never;
const weekdays = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [['09:00', '17:00']]]));

const names = ['a', 'b', 'c', 'd', 'e'] as const;
const market: Record<string, MarketBuyer> = {};
let legacy: Awaited<ReturnType<typeof startBuyer>>;
before(async () => {
  for (const [i, n] of names.entries()) market[n] = await startMarketBuyer({ name: n, format: (['json', 'text', 'xml'] as const)[i % 3]! });
  legacy = await startBuyer({ name: 'buyer-us', port: 0 });
});
after(async () => {
  await Promise.all([...Object.values(market).map((m) => m.close()), legacy.close()]);
});
const reset = () => {
  for (const m of Object.values(market)) {
    m.set({ decision: 'accept', reason: 'duplicate', price: null, bid: null, bidDelayMs: 0, accepts: null });
    void m.setMode('healthy');
  }
};

function primary(groups: Record<string, unknown>, extra: Record<string, Record<string, unknown>> = {}) {
  const buyers = Object.fromEntries(names.map((n, i) => [n, { url: `${market[n]!.url}/leads`, response: marketResponseMapping((['json', 'text', 'xml'] as const)[i % 3]!), price: 10 + i, ...extra[n] }]));
  return distributionSchema.parse({ buyers: { ...buyers, 'buyer-us': { url: `${legacy.url}/leads` } }, groups });
}

let seq = 0;
const lead = (target: string, over: Partial<LeadEvent> = {}): LeadEvent =>
  leadEvent({ leadId: `0190c0de-0000-7000-8000-${String(++seq).padStart(12, '0')}`, delivery: { destination: `primary:${target}`, rule: 'r1', attempt: 0, firstAttemptAt: SUNDAY_NOON_CHICAGO, nextAttemptAt: null, lastError: null, fallbacks: [] }, ...over });

function harness(p: ReturnType<typeof primary>, clock = { now: SUNDAY_NOON_CHICAGO }, stores: MemoryStores = memoryStores()) {
  const sink = createDistributionSink({ primary: () => p, reload() {}, policy, stores: async () => stores, now: () => clock.now, log: { warn() {}, info() {} } });
  const run = async (leads: LeadEvent[]) => {
    const outcomes = await sink.deliver(leads);
    return outcomes.map((o, i) => {
      const settled = settle({ topic: 'leads.primary', partition: 0, offset: '1', key: null, value: leads[i]!, raw: null } as never, o, { stage: 'sink-primary', policy, topology, now: clock.now });
      fitsSchema(settled.outputs);
      return { outcome: o as DistributionOutcome, ...settled };
    });
  };
  return { sink, run, stores, clock };
}
// Every lead record a pass produces (backup, unsold, DLQ) must fit the topics' Avro schema.
const leadType = avro.Type.forSchema(JSON.parse(readSchema('lead-event.avsc')) as avro.Schema);
function fitsSchema(outputs: { topic: string; value: unknown }[]): void {
  for (const o of outputs) {
    const bad: string[] = [];
    if (o.topic !== 'leads.events') assert.ok(leadType.isValid(o.value, { errorHook: (p) => bad.push(p.join('.')) }), `${o.topic}: ${bad.join(', ')}`);
  }
}
const kinds = (h: { history: { type: string; destination?: string }[] }) => h.history.map((e) => `${e.type} ${e.destination}`);

describe('distribution sink', () => {
  test('waterfall: a buyer that rejects, one that is full and one that is closed are passed at once, each with its reason', async () => {
    reset();
    market.a!.set({ decision: 'reject', reason: 'duplicate' });
    const p = primary({ w: { buyers: ['a', 'b', 'c', 'd'] } }, { b: { timezone: 'America/Chicago', caps: { day: 1 } }, c: { timezone: 'America/Chicago', schedule: weekdays } });
    const h = harness(p);
    h.stores.slots.set('b:day:2026-12-06', new Set(['an-earlier-lead']));
    const [r] = await h.run([lead('w')]);
    assert.equal(r!.outcome.result.kind, 'done');
    assert.deepEqual(r!.outputs, []);
    assert.deepEqual(kinds(r!), ['skipped primary:b', 'skipped primary:c', 'declined primary:a', 'delivered primary:d']);
    const detail = (b: string) => r!.history.find((e) => e.destination === `primary:${b}`)?.detail;
    assert.equal(detail('b'), 'capped: day 1/1');
    assert.equal(detail('c'), 'closed: opens Mon 09:00 America/Chicago');
    assert.equal(detail('a'), 'rejected by buyer: duplicate');
    assert.match(detail('d')!, /^sold at 13 \(fixed\); buyer lead id d-\d+$/);
    const sale = [...h.stores.payouts.values()][0]!;
    assert.deepEqual([sale.buyer, sale.amount, sale.priceSource, sale.rule, sale.vendor], ['d', 13, 'fixed', 'r1', 'acme-leads']);
    assert.equal(market.d!.received.at(-1)!.headers['idempotency-key'], `${sale.leadId}:primary:d`, 'the same key on every try: the buyer sees a redelivery as one lead');
  });

  test('a cap full at send time (another lead of the batch took the last unit) passes the buyer with its reason; capacity is exact', async () => {
    reset();
    const h = harness(primary({ w: { buyers: ['b', 'd'] } }, { b: { timezone: 'America/Chicago', caps: { day: 1 } } }));
    const [first, second] = await h.run([lead('w'), lead('w')]);
    const soldTo = (r: typeof first) => r!.outcome.state.attempts.find((a) => a.outcome === 'accepted')?.buyer;
    assert.deepEqual([soldTo(first), soldTo(second)].sort(), ['b', 'd']);
    const passed = [first, second].find((r) => soldTo(r) === 'd')!;
    assert.ok(passed.history.some((e) => e.type === 'skipped' && e.detail === 'capped: day 1/1'));
    assert.equal(h.stores.slots.get('b:day:2026-12-06')!.size, 1);
  });

  test('a transient failure keeps the buyer within the deadline (leads.backup, never due after it), then the next buyer gets the lead', async () => {
    reset();
    await market.a!.setMode('error500');
    const h = harness(primary({ w: { buyers: ['a', 'b'], deadlineMs: 30_000 } }, { a: { timezone: 'America/Chicago', caps: { day: 5 } } }));
    const l = lead('w');
    const [r1] = await h.run([l]);
    assert.equal(r1!.outcome.result.kind, 'retry');
    const backup = r1!.outputs[0]!;
    assert.equal(backup.topic, 'leads.backup');
    const retried = backup.value as LeadEvent;
    assert.ok(retried.delivery!.nextAttemptAt! <= SUNDAY_NOON_CHICAGO + 30_000);
    assert.equal(retried.distribution!.attempts[0]!.outcome, 'retriable');
    assert.deepEqual(kinds(r1!), ['failed primary:a', 'retried primary:w']);
    assert.equal(h.stores.slots.get('a:day:2026-12-06')!.size, 1, 'capacity held while a is retried');

    // Within the deadline: a again, and only a. The plan is the one carried: not made again.
    h.clock.now += 10_000;
    const [r2] = await h.run([retried]);
    assert.equal(r2!.outcome.result.kind, 'retry');
    assert.equal(market.b!.received.filter((x) => x.leadId === l.leadId).length, 0);
    assert.equal(h.stores.planned.size, 1, 'planned once');

    h.clock.now += 25_000;
    const [r3] = await h.run([r2!.outputs[0]!.value as LeadEvent]);
    assert.equal(r3!.outcome.result.kind, 'done');
    assert.match(r3!.history.find((e) => e.type === 'skipped' && e.destination === 'primary:a')!.detail!, /^gave up after 35s \(deadline 30s\)/);
    assert.ok(r3!.history.some((e) => e.type === 'delivered' && e.destination === 'primary:b'));
    assert.equal(h.stores.slots.get('a:day:2026-12-06')!.size, 0, 'capacity given back at the deadline');
  });

  test('given up after timeouts, a buyer keeps the capacity: the request may have reached it', async () => {
    reset();
    await market.a!.setMode('slow', 800);
    try {
      const h = harness(primary({ w: { buyers: ['a', 'b'], deadlineMs: 5_000 } }, { a: { timezone: 'America/Chicago', caps: { day: 5 }, timeoutMs: 200 } }));
      const [r1] = await h.run([lead('w')]);
      assert.match(r1!.outcome.state.attempts[0]!.reason!, /^timeout: /);
      h.clock.now += 6_000;
      const [r2] = await h.run([r1!.outputs[0]!.value as LeadEvent]);
      assert.match(r2!.history.find((e) => e.type === 'skipped' && e.destination === 'primary:a')!.detail!, /capacity kept \(a request may have reached it\)$/);
      assert.ok(r2!.history.some((e) => e.type === 'delivered' && e.destination === 'primary:b'));
      assert.equal(h.stores.slots.get('a:day:2026-12-06')!.size, 1, 'a never exceeds its cap on a guess');
    } finally {
      await market.a!.setMode('healthy');
    }
  });

  test('nobody takes it: leads.unsold with every reason', async () => {
    reset();
    for (const n of ['a', 'b'] as const) market[n]!.set({ decision: 'reject', reason: `no ${n}` });
    const h = harness(primary({ w: { buyers: ['a', 'b', 'c'] } }, { c: { filters: { states: ['TX'] } } }));
    const [r] = await h.run([lead('w')]);
    assert.equal(r!.outputs[0]!.topic, 'leads.unsold');
    const unsold = r!.outputs[0]!.value as LeadEvent;
    assert.equal(unsold.distribution!.status, 'unsold');
    assert.match(r!.outputs[0]!.headers!['x-unsold-reasons']!, /c: filtered: state CA not in \[TX\]; a: rejected: rejected by buyer: no a; b: rejected: rejected by buyer: no b/);
    assert.ok(r!.history.some((e) => e.type === 'unsold'));
  });

  test('shared (maxBuyers 2): the first two that accept get it, each paid', async () => {
    reset();
    const h = harness(primary({ s: { buyers: ['a', 'b', 'c'], maxBuyers: 2 } }));
    const [r] = await h.run([lead('s')]);
    assert.deepEqual(r!.history.filter((e) => e.type === 'delivered').map((e) => e.destination).sort(), ['primary:a', 'primary:b']);
    assert.equal(h.stores.payouts.size, 2);
    assert.equal(market.c!.received.length, 0);
  });

  test('round robin: over 30 leads in batches each buyer is offered first within ±1', async () => {
    reset();
    const h = harness(primary({ rr: { method: 'round-robin', buyers: ['a', 'b', 'c'] } }));
    for (let i = 0; i < 6; i++) await h.run(Array.from({ length: 5 }, () => lead('rr')));
    const counts = ['a', 'b', 'c'].map((n) => [...h.stores.payouts.values()].filter((p) => p.buyer === n).length);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, String(counts));
  });

  test('auction: the highest bid in the window wins, a late bidder is left out, pings carry no personal data', async () => {
    reset();
    market.c!.set({ bid: 9 });
    market.d!.set({ bid: 50, bidDelayMs: 700 });
    market.e!.set({ bid: 12, decision: 'reject', reason: 'sold out' });
    const ping = (n: string) => ({ ping: { url: `${market[n]!.url}/ping`, timeoutMs: 1000 }, price: undefined });
    const h = harness(primary({ auc: { method: 'auction', buyers: ['c', 'd', 'e'], bidWindowMs: 300 } }, { c: ping('c'), d: ping('d'), e: ping('e') }));
    const l = lead('auc');
    const [r] = await h.run([l]);
    assert.deepEqual(r!.outcome.state.candidates.map((c) => [c.buyer, c.price]), [['e', 12], ['c', 9]]);
    assert.match(r!.outcome.state.skipped.find((s) => s.buyer === 'd')!.reason, /^bid late: \d+ms > 300ms/);
    assert.deepEqual(kinds(r!), ['skipped primary:d', 'declined primary:e', 'delivered primary:c']);
    assert.equal([...h.stores.payouts.values()][0]!.amount, 9);
    const pinged = JSON.stringify(market.c!.pings.at(-1)!.body);
    for (const secret of ['Jane', 'Doe', 'jane.doe@example.com', '555-0132', '4155550132']) assert.ok(!pinged.includes(secret), secret);
    assert.equal(market.d!.received.filter((x) => x.path === '/leads' && x.leadId === l.leadId).length, 0, 'the late bidder never got the lead');
  });

  test('a rule naming one buyer keeps today\'s outcomes: delivered, leads.dlq when it says no, the retry policy on failure', async () => {
    const h = harness(primary({}));
    const [ok, no] = await h.run([lead('buyer-us'), lead('buyer-us', { vendor: 'reject-me' })]);
    assert.deepEqual(kinds(ok!), ['delivered primary:buyer-us']);
    assert.equal(no!.outputs[0]!.topic, 'leads.dlq');
    assert.match((no!.outputs[0]!.value as LeadEvent).deadLetter!.reason, /^buyer rejected the lead: vendor not bought/);
    await legacy.setMode('error500');
    try {
      const [failed] = await h.run([lead('buyer-us')]);
      assert.equal(failed!.outputs[0]!.topic, 'leads.backup');
      assert.equal((failed!.outputs[0]!.value as LeadEvent).delivery!.attempt, 1);
      assert.deepEqual(kinds(failed!), ['failed primary:buyer-us', 'retried primary:buyer-us']);
    } finally {
      await legacy.setMode('healthy');
    }
    assert.equal(h.stores.payouts.size, 1, 'the accepted one is recorded (no price: amount null)');
  });
});

test('a lead dead-lettered by a one-buyer rule, replayed onto leads.primary, is sent again', async () => {
  const h = harness(primary({}));
  const l = lead('buyer-us', { vendor: 'reject-me' });
  const [dead] = await h.run([l]);
  const replayed = { ...(dead!.outputs[0]!.value as LeadEvent), deadLetter: null };
  assert.equal(replayed.distribution!.status, 'unsold');
  const before = legacy.received.filter((r) => r.leadId === l.leadId).length;
  const [again] = await h.run([{ ...replayed, vendor: 'acme-leads' }]);
  assert.equal(legacy.received.filter((r) => r.leadId === l.leadId).length, before + 1);
  assert.deepEqual(kinds(again!), ['delivered primary:buyer-us']);
  assert.equal(again!.outcome.state.round, 1);
});
