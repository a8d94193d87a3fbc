import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buyerGroupSchema, distributionBuyerSchema, type DistributionBuyer } from '../../src/distribution/buyer-schema.js';
import { seededRandom } from '../../src/distribution/methods.js';
import { explainPlan, planDistribution, type PlanContext } from '../../src/distribution/plan.js';
import { distributionProgress, type Attempt } from '../../src/distribution/progress.js';
import type { LeadEvent } from '../../src/lead.js';

const NOW = Date.parse('2026-12-01T18:00:00Z'); // Tuesday 12:00 in Chicago

const lead: LeadEvent = {
  leadId: '0190f5e2-0000-7000-8000-000000000002',
  receivedAt: NOW - 5_000,
  hops: ['ingest', 'enrich', 'route'],
  firstName: 'Ana',
  lastName: 'Ruiz',
  email: 'ana@example.com',
  phone: '+15125550111',
  zip: '73301',
  country: 'US',
  jobTitle: 'RN',
  source: 'jobs-board',
  vendor: 'acme-leads',
  consent: { sms: true, at: '2026-12-01T17:59:00Z', text: 'I agree', ip: '203.0.113.7' },
  enrichment: {
    name: { first: 'Ana', last: 'Ruiz' },
    email: { address: 'ana@example.com', status: 'valid', reason: 'ok', source: 'local', suggestion: null },
    phone: { e164: '+15125550111', type: 'MOBILE', valid: true, country: 'US', reason: null },
    timezone: { zone: 'America/Chicago', utcOffsetMinutes: -360, dst: true, state: 'TX', city: 'Austin', reason: null },
    jobTitle: { raw: 'RN', canonical: 'Registered Nurse', category: 'Healthcare', score: 0.97 },
    enrichedAt: NOW - 4_000,
  },
  delivery: null,
  rejection: null,
  deadLetter: null,
};

const buyer = (raw: Record<string, unknown>): DistributionBuyer => distributionBuyerSchema.parse({ url: 'http://127.0.0.1:4701/leads', ...raw });
const weekdays = { mon: [['09:00', '17:00']], tue: [['09:00', '17:00']], wed: [['09:00', '17:00']], thu: [['09:00', '17:00']], fri: [['09:00', '17:00']] };

const buyers: Record<string, DistributionBuyer> = {
  'tx-health': buyer({
    timezone: 'America/Chicago',
    schedule: weekdays,
    caps: { day: 100 },
    filters: { states: ['TX', 'OK'], jobCategories: 'Healthcare' },
    price: { rules: [{ when: { states: 'CA' }, price: 30 }, { when: { jobTitles: 'registered nurse' }, price: 22 }], default: 8 },
  }),
  'ca-only': buyer({ filters: { states: ['CA'] }, price: 25 }),
  capped: buyer({ timezone: 'America/Chicago', caps: { day: 2 }, price: 9 }),
  'weekend-desk': buyer({ timezone: 'America/Chicago', schedule: { sat: [['09:00', '13:00']] }, price: 7 }),
  anytime: buyer({ price: 5 }),
};
const counts = { 'capped:day:2026-12-01': 2, 'tx-health:day:2026-12-01': 41 };
const ctx = (over: Partial<PlanContext> = {}): PlanContext => ({ now: NOW, counts, random: seededRandom(3), groupName: 'us-nurses', ...over });
const group = (raw: Record<string, unknown>) => buyerGroupSchema.parse({ buyers: ['tx-health', 'ca-only', 'capped', 'weekend-desk', 'anytime'], ...raw });

describe('planDistribution', () => {
  test('priority: eligible buyers in order, every other buyer with its reason', () => {
    const plan = planDistribution(group({ method: 'priority' }), buyers, lead, ctx());
    assert.deepEqual(plan.candidates.map((c) => [c.buyer, c.price?.amount, c.price?.source]), [
      ['tx-health', 22, 'rule 1'],
      ['anytime', 5, 'fixed'],
    ]);
    assert.deepEqual(plan.candidates[0]!.reservations, ['tx-health:day:2026-12-01']);
    assert.deepEqual(plan.skipped, [
      { buyer: 'ca-only', reason: 'filtered: state TX not in [CA]' },
      { buyer: 'capped', reason: 'capped: day 2/2' },
      { buyer: 'weekend-desk', reason: 'closed: opens Sat 09:00 America/Chicago' },
    ]);
  });

  test('explainPlan reads as the sink will act', () => {
    const plan = planDistribution(group({ method: 'priority', maxBuyers: 2, deadlineMs: 30_000 }), buyers, lead, ctx());
    assert.deepEqual(explainPlan(plan), [
      'group us-nurses: priority, shared (up to 2 buyers), retry failing buyers for 30s',
      '  1. tx-health at 22 (rule 1)',
      '  2. anytime at 5 (fixed)',
      '  - ca-only: filtered: state TX not in [CA]',
      '  - capped: capped: day 2/2',
      '  - weekend-desk: closed: opens Sat 09:00 America/Chicago',
    ]);
  });

  test('outside tx-health hours, it is closed until the next morning in its zone', () => {
    const evening = Date.parse('2026-12-02T00:30:00Z'); // Tue 18:30 CST
    const plan = planDistribution(group({}), buyers, lead, ctx({ now: evening }));
    assert.deepEqual(plan.candidates.map((c) => c.buyer), ['anytime']);
    assert.ok(plan.skipped.some((s) => s.buyer === 'tx-health' && s.reason === 'closed: opens Wed 09:00 America/Chicago'));
  });

  test('round robin returns the cursor for the next lead', () => {
    const g = group({ method: 'round-robin' });
    const first = planDistribution(g, buyers, lead, ctx({ cursor: 1 }));
    assert.deepEqual(first.candidates.map((c) => c.buyer), ['anytime', 'tx-health']);
    assert.equal(first.cursor, 0, 'past anytime (index 4) wraps to 0');
    assert.match(explainPlan(first).at(-1)!, /next round-robin cursor: 0/);
    const second = planDistribution(g, buyers, lead, ctx({ cursor: first.cursor }));
    assert.deepEqual(second.candidates.map((c) => c.buyer), ['tx-health', 'anytime']);
  });

  test('auction: bids order the buyers, a late bid is ignored, a standing price competes', () => {
    const auctionBuyers = {
      ...buyers,
      'tx-health': { ...buyers['tx-health']!, ping: { url: 'http://127.0.0.1:4701/ping', timeoutMs: 300, headers: {}, bid: { json: 'bid' } } },
      'ping-late': buyer({ ping: { url: 'http://127.0.0.1:4703/ping' } }),
      'ping-silent': buyer({ ping: { url: 'http://127.0.0.1:4704/ping' } }),
    };
    const g = buyerGroupSchema.parse({ method: 'auction', buyers: ['ping-late', 'tx-health', 'anytime', 'ping-silent'], bidWindowMs: 250 });
    const plan = planDistribution(g, auctionBuyers, lead, ctx({ bids: { 'tx-health': { amount: 14, elapsedMs: 120 }, 'ping-late': { amount: 50, elapsedMs: 400 } } }));
    assert.deepEqual(plan.candidates.map((c) => [c.buyer, c.price]), [
      ['tx-health', { amount: 14, source: 'bid' }],
      ['anytime', { amount: 5, source: 'fixed' }],
    ]);
    assert.deepEqual(plan.skipped, [
      { buyer: 'ping-late', reason: 'bid late: 400ms > 250ms' },
      { buyer: 'ping-silent', reason: 'no bid' },
    ]);
  });

  test('weighted: reproducible with the same random', () => {
    const g = group({ method: 'weighted', buyers: [{ name: 'tx-health', weight: 3 }, { name: 'anytime', weight: 1 }] });
    const a = planDistribution(g, buyers, lead, ctx({ random: seededRandom(11) }));
    const b = planDistribution(g, buyers, lead, ctx({ random: seededRandom(11) }));
    assert.deepEqual(a, b);
    assert.equal(a.candidates.length, 2);
  });

  test('an old lead is filtered out by age', () => {
    const picky = { ...buyers, anytime: buyer({ price: 5, filters: { maxLeadAgeMs: 1000 } }) };
    const plan = planDistribution(group({}), picky, lead, ctx());
    assert.ok(plan.skipped.some((s) => s.buyer === 'anytime' && s.reason === 'filtered: age 5s old, max 1s'));
  });
});

describe('distributionProgress: maxBuyers, rejections, deadline, returns', () => {
  const plan = (maxBuyers: number, redistributeOnReturn = false) => ({
    candidates: ['a', 'b', 'c', 'd'].map((buyer) => ({ buyer, price: null, capWindows: [], reservations: [] })),
    maxBuyers,
    deadlineMs: 60_000,
    redistributeOnReturn,
  });
  const T = NOW;
  const at = (buyer: string, s: number, outcome: Attempt['outcome'], reason?: string): Attempt => ({ buyer, at: T + s * 1000, outcome, ...(reason ? { reason } : {}) });

  test('shared to 2: the first two are offered; a rejection passes the slot on at once', () => {
    assert.deepEqual(distributionProgress(plan(2), [], T), { done: false, sold: [], offer: ['a', 'b'], retry: [], passed: [] });
    const p = distributionProgress(plan(2), [at('a', 1, 'accepted'), at('b', 1, 'rejected', 'duplicate')], T + 1000);
    assert.deepEqual(p, { done: false, sold: ['a'], offer: ['c'], retry: [], passed: [{ buyer: 'b', reason: 'rejected: duplicate' }] });
  });

  test('a transient failure keeps its slot until the deadline, then the lead moves on', () => {
    const attempts = [at('a', 0, 'accepted'), at('b', 0, 'rejected'), at('c', 1, 'retriable', 'HTTP 503'), at('c', 20, 'retriable', 'HTTP 503')];
    assert.deepEqual(distributionProgress(plan(2), attempts, T + 30_000).retry, ['c']);
    assert.deepEqual(distributionProgress(plan(2), attempts, T + 30_000).offer, []);
    const late = distributionProgress(plan(2), attempts, T + 61_000);
    assert.deepEqual(late.offer, ['d']);
    assert.deepEqual(late.passed.at(-1), { buyer: 'c', reason: 'gave up after 60s (deadline 60s): HTTP 503' });
    const sold = distributionProgress(plan(2), [...attempts, at('d', 62, 'accepted')], T + 62_000);
    assert.deepEqual({ done: sold.done, sold: sold.sold }, { done: true, sold: ['a', 'd'] });
  });

  test('exclusive: the first acceptance ends it; a retry that then succeeds counts', () => {
    assert.equal(distributionProgress(plan(1), [at('a', 0, 'accepted')], T).done, true);
    const p = distributionProgress(plan(1), [at('a', 0, 'retriable'), at('a', 5, 'accepted')], T + 5000);
    assert.deepEqual({ done: p.done, sold: p.sold }, { done: true, sold: ['a'] });
  });

  test('a returned lead is resold only with redistributeOnReturn', () => {
    const attempts = [at('a', 0, 'accepted'), at('a', 3600, 'returned', 'bad phone')];
    assert.deepEqual(distributionProgress(plan(1), attempts, T + 3_600_000), { done: true, sold: ['a'], offer: [], retry: [], passed: [] });
    const again = distributionProgress(plan(1, true), attempts, T + 3_600_000);
    assert.deepEqual(again, { done: false, sold: [], offer: ['b'], retry: [], passed: [{ buyer: 'a', reason: 'returned: bad phone' }] });
  });

  test('nobody left: done, unsold', () => {
    const all = ['a', 'b', 'c', 'd'].map((b) => at(b, 0, 'rejected'));
    const p = distributionProgress(plan(1), all, T);
    assert.equal(p.done, true);
    assert.deepEqual(p.sold, []);
    assert.equal(distributionProgress({ ...plan(1), candidates: [] }, [], T).done, true);
  });
});
