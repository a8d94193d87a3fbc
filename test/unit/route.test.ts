import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRoute } from '../../src/processors/route/route.js';
import { enrichment, leadEvent, shippedRouterConfig } from '../support/fixtures.js';

const config = shippedRouterConfig();

test('a US lead with SMS consent goes to the US buyer, the first US provider (others as fallback) and search', () => {
  const d = decideRoute(leadEvent(), config);
  assert.equal(d.kind, 'routed');
  if (d.kind !== 'routed') return;
  assert.equal(d.rule, 'us');
  assert.deepEqual(
    d.deliveries.map((x) => [x.destination, x.fallbacks]),
    [
      ['primary:buyer-us', []],
      ['sms:twilio', ['sms:eurosms']],
      ['search:leads', []],
    ],
  );
  assert.equal(d.deliveries[1]!.key, '+14155550132', 'SMS records are keyed by phone so one person stays on one partition');
});

test('a UK lead takes the UK path: UK buyer, UK-capable SMS provider only', () => {
  const d = decideRoute(leadEvent({ country: 'GB', zip: null, postcode: 'SW1A 1AA', enrichment: enrichment({ phone: { e164: '+447911123456', type: 'MOBILE', valid: true, country: 'GB', reason: null } }) }), config);
  assert.equal(d.kind, 'routed');
  if (d.kind !== 'routed') return;
  assert.equal(d.rule, 'uk');
  assert.deepEqual(d.deliveries.map((x) => x.destination), ['primary:buyer-uk', 'sms:eurosms', 'search:leads']);
});

test('no SMS without consent, or without a textable phone; the reason is kept', () => {
  const noConsent = decideRoute(leadEvent({ consent: { sms: false, email: null, at: '2026-01-01T00:00:00Z', text: null, ip: null } }), config);
  assert.ok(noConsent.kind === 'routed' && !noConsent.deliveries.some((x) => x.kind === 'sms'));
  assert.ok(noConsent.kind === 'routed' && noConsent.skipped[0]?.includes('consent'));
  const badPhone = decideRoute(leadEvent({ enrichment: enrichment({ phone: { e164: null, type: null, valid: false, country: null, reason: 'too_short' } }) }), config);
  assert.ok(badPhone.kind === 'routed' && !badPhone.deliveries.some((x) => x.kind === 'sms'));
  assert.ok(badPhone.kind === 'routed' && badPhone.skipped[0]?.includes('too_short'));
});

test('loop guard: the router or one of its destinations as source, or vendor, is rejected', () => {
  for (const source of ['lead-router', 'Buyer-US', 'twilio']) {
    const d = decideRoute(leadEvent({ source }), config);
    assert.equal(d.kind, 'rejected', source);
    assert.match(d.kind === 'rejected' ? d.reason : '', /loop guard/);
  }
  assert.equal(decideRoute(leadEvent({ vendor: 'eurosms' }), config).kind, 'rejected');
});

test('loop guard: too many hops, or a lead that was already routed, is rejected', () => {
  const many = decideRoute(leadEvent({ hops: Array.from({ length: 13 }, (_, i) => `h${i}`) }), config);
  assert.match(many.kind === 'rejected' ? many.reason : '', /13 hops/);
  const again = decideRoute(leadEvent({ hops: ['ingest', 'enrich', 'route', 'ingest', 'enrich'] }), config);
  assert.match(again.kind === 'rejected' ? again.reason : '', /already routed/);
});

test('first matching rule wins; conditions on source and vendor are case-insensitive', () => {
  const custom = {
    ...config,
    routing: {
      ...config.routing,
      rules: [
        { name: 'vip', when: { source: ['Partner-X'], vendor: 'acme-leads' }, then: { primary: 'buyer-uk', sms: [], search: false } },
        ...config.routing.rules,
      ],
    },
  };
  const d = decideRoute(leadEvent({ source: 'partner-x' }), custom);
  assert.ok(d.kind === 'routed' && d.rule === 'vip');
  assert.deepEqual(d.kind === 'routed' && d.deliveries.map((x) => x.destination), ['primary:buyer-uk']);
  const other = decideRoute(leadEvent({ source: 'partner-y' }), custom);
  assert.ok(other.kind === 'routed' && other.rule === 'us');
});
