/**
 * Returns over HTTP (app.inject, in-memory ledger): a buyer key returns its own purchase, the
 * operator names the buyer, a second return credits nothing, the return window closes, and a
 * returned lead of a redistributing group goes back onto leads.primary, where the sink offers it
 * to the next eligible buyer and never again to the one that returned it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startMarketBuyer, type MarketBuyer } from '../../sandbox/market-buyer.js';
import { distributionSchema } from '../../src/distribution/buyer-schema.js';
import type { DistributionOutcome } from '../../src/distribution/outcome.js';
import { buildIngestApp } from '../../src/ingest/app.js';
import { VendorLeadDedup } from '../../src/ingest/dedup.js';
import type { Output } from '../../src/kafka/stage-contract.js';
import type { LeadEvent } from '../../src/lead.js';
import { BUYER_KEY_PREFIX, DEV_PEPPER, hashCredential, mintCredential } from '../../src/security/credentials.js';
import { openKeyring } from '../../src/security/keyring.js';
import { createDistributionSink } from '../../src/sinks/primary/distribution-sink.js';
import { ACME_KEY, OPERATOR, testSecurity } from '../support/auth.js';
import { leadEvent } from '../support/fixtures.js';
import { memoryStores } from '../support/memory-distribution.js';

const KEY_A = mintCredential(BUYER_KEY_PREFIX, 'a1').value;
const KEY_B = mintCredential(BUYER_KEY_PREFIX, 'b1').value;
const stores = memoryStores();
const published: Output[] = [];
let app: FastifyInstance;
let clock = Date.parse('2026-12-01T18:00:00Z');
const buyers: Record<string, MarketBuyer> = {};

before(async () => {
  for (const n of ['a', 'b', 'c']) buyers[n] = await startMarketBuyer({ name: n });
  const security = { ...testSecurity(), buyers: { a: { keys: [{ id: 'a1', hash: hashCredential(DEV_PEPPER, KEY_A) }] }, b: { keys: [{ id: 'b1', hash: hashCredential(DEV_PEPPER, KEY_B) }] } } };
  const keyring = await openKeyring({ security, pepper: DEV_PEPPER, collection: null, log: { warn() {}, info() {} } });
  app = await buildIngestApp(
    {
      publisher: { async publish() {}, async close() {} },
      history: null,
      dedup: new VendorLeadDedup(60_000, 10),
      keyring,
      readiness: async () => [],
      now: () => clock,
      money: { ledger: async () => stores.ledger, publish: async (o) => void published.push(...o), topics: { primary: 'leads.primary', events: 'leads.events' }, keyring },
    },
    { maxBodyBytes: 16_384, logger: false },
  );
});
after(async () => {
  await app.close();
  await Promise.all(Object.values(buyers).map((b) => b.close()));
});

const primary = () =>
  distributionSchema.parse({
    buyers: Object.fromEntries(Object.entries(buyers).map(([n, b]) => [n, { url: `${b.url}/leads`, response: { accepted: { json: 'status', equals: 'accepted' }, leadId: { json: 'lead_id' } }, price: 20 }])),
    groups: { g: { buyers: ['a', 'b', 'c'], redistributeOnReturn: true, returnWindowDays: 3 } },
  });
const sink = createDistributionSink({ primary, reload() {}, policy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 3, maxAgeMs: 1000 }, stores: async () => stores, now: () => clock, log: { warn() {}, info() {} } });
const ret = (leadId: string, headers: Record<string, string>, body: unknown) => app.inject({ method: 'POST', url: `/v1/leads/${leadId}/returns`, headers, payload: body as object });

test('a buyer returns its lead: credited once, and the lead goes to the next buyer, never back to it', async () => {
  const lead = leadEvent({ leadId: '0190c0de-0000-7000-8000-0000000000aa', delivery: { destination: 'primary:g', rule: 'us', attempt: 0, firstAttemptAt: clock, nextAttemptAt: null, lastError: null, fallbacks: [] } });
  const [sold] = (await sink.deliver([lead])) as DistributionOutcome[];
  assert.equal(sold!.result.kind, 'done');
  assert.deepEqual(buyers.a!.accepted, [lead.leadId]);

  assert.equal((await ret(lead.leadId, { 'x-api-key': KEY_B }, { reason: 'duplicate' })).statusCode, 404, 'b never bought it');
  const first = await ret(lead.leadId, { 'x-api-key': KEY_A }, { reason: 'wrong_number' });
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual(first.json(), { leadId: lead.leadId, buyer: 'a', credited: 20, redistributed: true, duplicate: false });
  const again = await ret(lead.leadId, { 'x-api-key': KEY_A }, { reason: 'wrong_number' });
  assert.deepEqual(again.json(), { leadId: lead.leadId, buyer: 'a', credited: 20, redistributed: false, duplicate: true });
  assert.equal(stores.payouts.get(`${lead.leadId}:a:return`)!.amount, -20);

  const event = published.find((o) => o.topic === 'leads.events')!.value as { type: string; detail: string };
  assert.equal(event.type, 'returned');
  assert.match(event.detail, /reason wrong_number; credited 20; redistributed/);
  const back = published.find((o) => o.topic === 'leads.primary')!.value as LeadEvent;
  assert.equal(back.distribution!.status, 'returned');

  buyers.b!.set({ decision: 'reject', reason: 'no thanks' });
  const [resold] = (await sink.deliver([back])) as DistributionOutcome[];
  assert.equal(resold!.result.kind, 'done');
  assert.deepEqual(buyers.c!.accepted, [lead.leadId], 'b said no, so c');
  assert.equal(buyers.a!.received.filter((r) => r.leadId === lead.leadId).length, 1, 'a never saw it again');
  assert.equal(resold!.state.round, 1);
  assert.ok(resold!.state.skipped.some((s) => s.buyer === 'a' && /already had this lead \(returned\)/.test(s.reason)));
  assert.deepEqual((await stores.ledger.revenue('buyer', new Date(0))).map((r) => [r.key, r.net]).sort(), [['a', 0], ['c', 20]]);
});

test('the operator returns for a buyer it names; the window closes; a vendor key or none is refused', async () => {
  const lead = leadEvent({ leadId: '0190c0de-0000-7000-8000-0000000000bb', delivery: { destination: 'primary:g', rule: 'us', attempt: 0, firstAttemptAt: clock, nextAttemptAt: null, lastError: null, fallbacks: [] } });
  buyers.a!.set({ decision: 'reject' });
  buyers.b!.set({ decision: 'accept' });
  await sink.deliver([lead]);
  const operator = { authorization: `Bearer ${OPERATOR}` };
  assert.equal((await ret(lead.leadId, operator, { reason: 'fraud' })).statusCode, 400, 'an operator names the buyer');
  assert.equal((await ret(lead.leadId, {}, { reason: 'fraud' })).statusCode, 401);
  assert.equal((await ret(lead.leadId, { 'x-api-key': KEY_A }, { reason: 'fraud', buyer: 'b' })).statusCode, 403, 'a buyer returns only its own');
  assert.equal((await ret(lead.leadId, { 'x-api-key': ACME_KEY }, { reason: 'fraud' })).statusCode, 403, 'a vendor key opens no returns');
  assert.equal((await ret(lead.leadId, operator, { reason: 'Not A Code!', buyer: 'b' })).statusCode, 400);
  clock += 4 * 86_400_000;
  const late = await ret(lead.leadId, operator, { reason: 'fraud', buyer: 'b' });
  assert.equal(late.statusCode, 409);
  assert.equal(late.json().error, 'return_window_closed');

  const report = await app.inject({ method: 'GET', url: '/v1/reports/revenue?by=buyer&since=2026-01-01T00:00:00Z', headers: operator });
  assert.equal(report.statusCode, 200, report.body);
  assert.ok((report.json() as { rows: { key: string }[] }).rows.some((r) => r.key === 'b'));
  assert.equal((await app.inject({ method: 'GET', url: '/v1/reports/revenue?by=buyer&since=2026-01-01T00:00:00Z', headers: { 'x-api-key': KEY_A } })).statusCode, 403);
});
