/** What operators read: per-destination stats from history events, roles from group membership, admin targets, search input, and the metric names that alerts and Grafana use. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { searchKind, toE164 } from '../../src/dashboard/actions.js';
import type { HistoryEventRecord } from '../../src/history/events.js';
import { registry } from '../../src/metrics.js';
import { metricByLabel, parseAdminTargets } from '../../src/ops/admin-targets.js';
import { rolesFromStages } from '../../src/ops/cluster-status.js';
import { EventStats, percentile, uuidv7Time } from '../../src/ops/event-stats.js';

const NOW = 1_800_000_000_000;
// A UUIDv7 whose time is NOW - 1000 ms.
const leadAt = (ms: number, n: number) => {
  const hex = ms.toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-${String(n).padStart(12, '0')}`;
};
let seq = 0;
const ev = (leadId: string, type: string, at: number, destination: string | null = null, fields: Record<string, string> = {}): HistoryEventRecord => ({ eventId: `e${seq++}`, leadId, type, at, stage: 's', destination, attempt: 0, detail: null, fields });

test('event stats: outcome counts and rates per destination, latency from the lead id\'s time, recent leads newest first', () => {
  const stats = new EventStats({ now: () => NOW });
  const a = leadAt(NOW - 1000, 1);
  const b = leadAt(NOW - 3000, 2);
  assert.equal(uuidv7Time(a), NOW - 1000);
  stats.add(ev(b, 'received', NOW - 3000, null, { vendor: 'acme', vendorLeadId: 'V-2' }));
  stats.add(ev(a, 'received', NOW - 1000, null, { vendor: 'acme', source: 'jobs', vendorLeadId: 'V-1' }));
  stats.add(ev(a, 'delivered', NOW - 800, 'primary:buyer-us'));
  stats.add(ev(b, 'delivered', NOW - 1000, 'primary:buyer-us'));
  stats.add(ev(b, 'retried', NOW - 900, 'sms:twilio'));
  const died = ev(b, 'dead', NOW - 500, 'sms:twilio');
  stats.add(died);
  stats.add({ ...died }); // redelivered: the same event id, counted once
  stats.add(ev(b, 'delivered', NOW - 10 * 60_000, 'search:leads')); // outside the window
  const d = Object.fromEntries(stats.destinations(['search:leads']).map((x) => [x.destination, x]));
  assert.equal(d['primary:buyer-us']!.counts.delivered, 2);
  assert.equal(d['primary:buyer-us']!.perMinute.delivered, 2);
  assert.equal(d['primary:buyer-us']!.p50Ms, 200);
  assert.equal(d['primary:buyer-us']!.p99Ms, 2000);
  assert.deepEqual([d['sms:twilio']!.counts.retry, d['sms:twilio']!.counts.dead], [1, 1]);
  assert.equal(d['search:leads']!.counts.delivered, 0, 'known destinations are listed even when idle');
  const recent = stats.recentLeads();
  assert.deepEqual(recent.map((l) => l.leadId), [a, b]);
  assert.deepEqual(recent[0]!.delivered, ['primary:buyer-us']);
  assert.deepEqual(recent[1]!.dead, ['sms:twilio']);
  assert.deepEqual(stats.byVendorLeadId('V-2'), [b]);
  assert.equal(percentile([], 0.5), null);
});

test('roles from group membership: up, down (no member in any group), partial', () => {
  const roles = rolesFromStages([
    { stage: 'enrich', role: 'enrich', members: [] },
    { stage: 'route', role: 'route', members: [{} as never] },
    { stage: 'sink-sms.twilio', role: 'sink-sms', members: [{} as never] },
    { stage: 'sink-sms.deferred', role: 'sink-sms', members: [] },
  ]);
  const by = Object.fromEntries(roles.map((r) => [r.role, r]));
  assert.equal(by.enrich!.state, 'down');
  assert.equal(by.route!.state, 'up');
  assert.equal(by['sink-sms']!.state, 'partial');
  assert.deepEqual(by['sink-sms']!.downStages, ['sink-sms.deferred']);
  assert.equal(by['sink-history']!.state, 'n/a');
});

test('admin targets: name=url lists or bare URLs; a metric read by label from the text format', () => {
  assert.deepEqual(parseAdminTargets('ingest=http://127.0.0.1:9464, http://10.0.0.2:9465/'), [
    { name: 'ingest', url: 'http://127.0.0.1:9464' },
    { name: 'target-2', url: 'http://10.0.0.2:9465' },
  ]);
  assert.deepEqual(parseAdminTargets(''), []);
  const text = '# HELP x\nleadrouter_sms_provider_circuit_open{provider="twilio"} 1\nleadrouter_sms_provider_circuit_open{provider="eurosms"} 0\nother{provider="x"} 5\n';
  assert.deepEqual(metricByLabel(text, 'leadrouter_sms_provider_circuit_open', 'provider'), { twilio: 1, eurosms: 0 });
});

test('search input: a lead id, a phone, or else a vendorLeadId; phones to E.164', () => {
  assert.equal(searchKind('01a2328a-58e6-737e-a6c6-6fd1a4cfe194'), 'leadId');
  assert.equal(searchKind('(415) 555-0132'), 'phone');
  assert.equal(searchKind('+44 7911 123456'), 'phone');
  assert.equal(searchKind('A-1001'), 'vendorLeadId');
  assert.equal(searchKind('2024-05-01'), 'vendorLeadId');
  assert.equal(searchKind('555-0132'), 'vendorLeadId', 'too short for a phone with its area code');
  assert.equal(toE164('(415) 555-0132'), '+14155550132');
  assert.equal(toE164('+44 7911 123456'), '+447911123456');
  assert.equal(toE164('12'), null);
});

test('alerts and the Grafana dashboard only use metrics the router publishes', async () => {
  const published = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  const known = (name: string) => published.has(name) || published.has(name.replace(/_(bucket|sum|count)$/, ''));
  const used = (text: string) => [...new Set(text.match(/\bleadrouter_[a-z_]+/g) ?? [])];
  const rules = used(fs.readFileSync('alerts/lead-router.rules.yml', 'utf8'));
  const grafana = used(fs.readFileSync('ops/grafana/lead-router.json', 'utf8'));
  assert.ok(rules.length >= 6 && grafana.length >= 10);
  for (const m of [...rules, ...grafana]) assert.ok(known(m), `${m} is not a metric of src/metrics.ts`);
  const dashboard = JSON.parse(fs.readFileSync('ops/grafana/lead-router.json', 'utf8')) as { panels: { type: string; targets?: { expr: string }[] }[] };
  assert.ok(dashboard.panels.filter((p) => p.type !== 'row').every((p) => (p.targets ?? []).length > 0));
});
