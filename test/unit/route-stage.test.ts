import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeLead } from '../../src/stages/route-stage.js';
import { buildTopology } from '../../src/topology.js';
import { loadConfig } from '../../src/config.js';
import { leadEvent, shippedRouterConfig } from '../support/fixtures.js';
import type { LeadEvent } from '../../src/lead.js';

const router = shippedRouterConfig();
const topology = buildTopology({ env: loadConfig({}).env, router });

test('routeLead writes one record per destination, SMS keyed by phone, and a routed history event', () => {
  const r = routeLead(leadEvent(), router, topology, 1000);
  assert.deepEqual(r.outputs.map((o) => [o.topic, o.key]), [
    ['leads.primary', '0190c0de-0000-7000-8000-000000000001'],
    ['leads.sms.twilio', '+14155550132'],
    ['leads.search', '0190c0de-0000-7000-8000-000000000001'],
  ]);
  assert.ok(r.outputs.every((o) => (o.value as LeadEvent).hops.at(-1) === 'route' && (o.value as LeadEvent).delivery?.attempt === 0));
  assert.equal(r.history[0]?.type, 'routed');
});

test('an opted-out number is not queued for SMS at all; the reason is in the history', () => {
  const r = routeLead(leadEvent(), router, topology, 1000, { isOptedOut: (p) => p === '+14155550132' });
  assert.deepEqual(r.outputs.map((o) => o.topic), ['leads.primary', 'leads.search']);
  assert.match(r.history[0]?.detail ?? '', /sms: number opted out/);
});

test('a rejected lead goes to leads.rejected only', () => {
  const r = routeLead(leadEvent({ source: 'lead-router' }), router, topology, 1000);
  assert.deepEqual(r.outputs.map((o) => o.topic), ['leads.rejected']);
  assert.match((r.outputs[0]?.value as LeadEvent | undefined)?.rejection?.reason ?? '', /loop guard/);
});
