import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, describeTopology } from '../../src/topology.js';
import { loadConfig, ConfigError, parseRouterFile } from '../../src/config.js';
import { shippedRouterConfig } from '../support/fixtures.js';

const env = loadConfig({}).env;

test('the topology has one topic and one consumer group per SMS provider', () => {
  const t = buildTopology({ env, router: shippedRouterConfig() });
  assert.deepEqual(t.topics.sms, { twilio: 'leads.sms.twilio', eurosms: 'leads.sms.eurosms' });
  const groups = t.stages.map((s) => s.group);
  assert.equal(new Set(groups).size, groups.length, 'every stage has its own group');
  assert.ok(groups.includes('sink-sms.twilio') && groups.includes('sink-sms.eurosms'));
});

test('the printed topology shows every stage with its arrows', () => {
  const text = describeTopology(buildTopology({ env: { ...env, TOPIC_PREFIX: 'x.' }, router: shippedRouterConfig() }));
  assert.match(text, /route {2}\(role route, group x\.route\)/);
  assert.match(text, /<-- x\.leads\.enriched/);
  assert.match(text, /--> x\.leads\.sms\.eurosms/);
  assert.match(text, /x\.leads\.dlq +partitions=6 rf=1/);
});

test('a rule naming an unknown destination fails at load, with every problem listed', () => {
  const bad = `
primary: { buyers: { b: { url: "http://127.0.0.1:1/x" } } }
sms: { providers: {} }
search: { index: leads }
routing:
  rules:
    - { name: r, when: { market: FR }, then: { primary: nope, sms: [ghost] } }
retry: {}
`;
  assert.throws(() => parseRouterFile(bad, 'bad.yaml'), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /routing\.rules\.0\.when\.market/);
    return true;
  });
  const bad2 = bad.replace('market: FR', 'market: US');
  assert.throws(() => parseRouterFile(bad2, 'bad.yaml'), /unknown buyer "nope"[\s\S]*unknown SMS provider "ghost"/);
});

test('environment problems are reported as one readable error', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' }), /environment:\n {2}- PORT: .*\n {2}- LOG_LEVEL/);
});

test('enrich and route fused: one consumer on leads.raw that still writes leads.enriched, no route stage', () => {
  const t = buildTopology({ env: { ...env, ENRICH_AND_ROUTE_TOGETHER: true }, router: shippedRouterConfig() });
  const fused = t.stages.find((s) => s.kind === 'enrich-route');
  assert.ok(fused, describeTopology(t));
  assert.equal(fused.group, 'enrich', 'keeps the enrich group: switching on or off resumes where the other left off');
  assert.deepEqual(fused.inputs, ['leads.raw']);
  for (const topic of ['leads.enriched', 'leads.primary', 'leads.sms.twilio', 'leads.search', 'leads.rejected']) assert.ok(fused.outputs.includes(topic), topic);
  assert.deepEqual(fused.tables, ['leads.optouts']);
  assert.equal(t.stages.some((s) => s.kind === 'route' || s.kind === 'enrich'), false);
});

test('every deliver stage has a retry twin: same role and destination, its own retry topic and group; backup feeds only the twins', () => {
  const t = buildTopology({ env, router: shippedRouterConfig() });
  const deliver = t.stages.filter((s) => s.kind === 'deliver' && !s.retry);
  assert.deepEqual(deliver.map((s) => s.name), ['sink-primary', 'sink-sms.twilio', 'sink-sms.eurosms', 'sink-search']);
  for (const s of deliver) {
    const twin = t.stages.find((x) => x.name === `${s.name}.retry`);
    assert.ok(twin?.retry, s.name);
    assert.equal(twin.kind, 'deliver');
    assert.equal(twin.role, s.role, 'same process: one Sink, one pace, one circuit per destination');
    assert.deepEqual(twin.destination, s.destination);
    assert.equal(twin.group, `${s.name}.retry`);
    assert.deepEqual(twin.outputs, s.outputs);
    assert.notDeepEqual(twin.inputs, s.inputs);
  }
  assert.deepEqual(t.topics.retry, { primary: 'leads.retry.primary', search: 'leads.retry.search', sms: { twilio: 'leads.retry.sms.twilio', eurosms: 'leads.retry.sms.eurosms' } });
  const backup = t.stages.find((s) => s.kind === 'backup')!;
  const firstLane = [t.topics.primary, t.topics.search, ...Object.values(t.topics.sms)];
  assert.deepEqual(backup.outputs.filter((o) => firstLane.includes(o)), [], 'retries never go onto a first-delivery topic');
  for (const topic of [t.topics.retry.primary, t.topics.retry.search, ...Object.values(t.topics.retry.sms)]) assert.ok(backup.outputs.includes(topic), topic);
});
