import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import type { RoutingConfig } from '../../src/processors/route/route.js';
import { routingSchema } from '../../src/processors/route/rules-schema.js';
import { runRouteCli, type RouteCliOptions } from '../../src/processors/route/cli.js';
import { enrichment, leadEvent, shippedRouterConfig } from '../support/fixtures.js';

const shipped = shippedRouterConfig();

async function run(lines: string[], router: RoutingConfig = shipped, options?: RouteCliOptions) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const summary = await runRouteCli(Readable.from(lines.map((l) => l + '\n')), out, { router }, options);
  const records = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { summary, records };
}

const { leadId: _id, hops: _hops, delivery: _d, rejection: _r, deadLetter: _dl, receivedAt: _at, ...enriched } = leadEvent();
const us = JSON.stringify(enriched);
const uk = JSON.stringify({ ...enriched, country: 'GB', zip: null, postcode: 'SW1A 1AA', enrichment: enrichment({ phone: { e164: '+447911123456', type: 'MOBILE', valid: true, country: 'GB', reason: null } }) });
const noConsent = JSON.stringify({ ...enriched, consent: { sms: false, at: '2026-01-01T00:00:00Z' } });

test('route CLI: one decision per line with the rule, destinations, fallbacks and skipped reasons', async () => {
  const { summary, records } = await run([us, uk, '', noConsent, JSON.stringify({ ...enriched, source: 'lead-router' }), '{oops', '{}', '[1]']);
  assert.deepEqual(records[0], {
    line: 1,
    leadId: 'line-1',
    rule: 'us',
    destinations: [
      { destination: 'primary:buyer-us', fallbacks: [] },
      { destination: 'sms:twilio', fallbacks: ['sms:eurosms'] },
      { destination: 'search:leads', fallbacks: [] },
    ],
    skipped: [],
  });
  assert.equal(records[1]!.rule, 'uk');
  assert.deepEqual((records[1]!.destinations as { destination: string }[]).map((d) => d.destination), ['primary:buyer-uk', 'sms:eurosms', 'search:leads']);
  // The blank line 3 prints nothing; line numbers stay those of the input.
  assert.equal(records[2]!.line, 4);
  assert.deepEqual(records[2]!.skipped, ['sms: no SMS consent']);
  assert.deepEqual(records[3], { line: 5, leadId: 'line-5', rejected: 'loop guard: source "lead-router" is the router or one of its destinations' });
  assert.equal(records[4]!.line, 6);
  assert.match(String(records[4]!.error), /^not JSON/);
  assert.match(String(records[5]!.error), /^cannot route/, 'JSON that is not a lead is reported, the run goes on');
  assert.match(String(records[6]!.error), /not a JSON object/);
  assert.equal(records.length, 7);
  assert.deepEqual(summary, { routed: 3, rejected: 1, errors: 3 });
  assert.ok(!('explain' in records[0]!), 'no explanation unless asked');
});

test('route CLI --explain: the rules tried and which conditions failed', async () => {
  const router = {
    ...shipped,
    routing: routingSchema.parse({
      ...shipped.routing,
      rules: [
        { name: 'ca-health', priority: 10, when: { state: 'CA', jobCategory: 'Retail' }, then: { primary: 'buyer-us' } },
        ...shipped.routing.rules,
      ],
    }),
  };
  const { records } = await run([us, uk, JSON.stringify({ ...enriched, source: 'Lead-Router' })], router, { explain: true });
  assert.equal(records[0]!.rule, 'us');
  assert.deepEqual(records[0]!.explain, [
    { rule: 'ca-health', priority: 10, matched: false, failed: ['jobCategory: wants Retail, lead has healthcare'] },
    { rule: 'uk', priority: 0, matched: false, failed: ['market: wants UK, lead has us'] },
    { rule: 'us', priority: 0, matched: true, failed: [] },
  ]);
  assert.deepEqual((records[1]!.explain as { rule: string }[]).map((r) => r.rule), ['ca-health', 'uk'], 'rules after the match are not tried');
  assert.match(String(records[2]!.rejected), /loop guard/);
  assert.ok(Array.isArray(records[2]!.explain), 'a rejected lead is explained too');
});
