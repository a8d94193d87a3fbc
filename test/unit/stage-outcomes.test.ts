import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle, withEvents } from '../../src/stages/outcomes.js';
import type { LeadEvent } from '../../src/lead.js';
import { leadEvent } from '../support/fixtures.js';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 3, maxAgeMs: 3_600_000 };
const topology = {
  topics: { backup: 'leads.backup', dlq: 'leads.dlq', smsDeferred: 'leads.sms.deferred', events: 'leads.events', primary: 'leads.primary', search: 'leads.search', sms: { twilio: 'leads.sms.twilio', eurosms: 'leads.sms.eurosms' } },
} as unknown as Parameters<typeof settle>[2]['topology'];
const ctx = { stage: 'sink-primary', policy, topology, now: 50_000 };
const delivery = { destination: 'primary:buyer-us', rule: 'us', attempt: 0, firstAttemptAt: 49_000, nextAttemptAt: null, lastError: null, fallbacks: [] as string[] };
const consumed = (attempt = 0, d: Partial<typeof delivery> = {}) => ({
  value: leadEvent({ delivery: { ...delivery, attempt, ...d } }),
  raw: null,
  topic: 'leads.primary',
  partition: 2,
  offset: '41',
  key: null,
  headers: {},
});
const lead = (v: unknown) => v as LeadEvent;

test('delivered: an event only, nothing else to produce', () => {
  const s = settle(consumed(), { status: 'delivered', detail: 'ok' }, ctx);
  assert.deepEqual(s.outputs, []);
  assert.equal(s.history[0]?.type, 'delivered');
  const out = withEvents(s, topology);
  assert.deepEqual(out.map((o) => o.topic), ['leads.events']);
});

test('retry: a backup record with the next attempt, its time and the error', () => {
  const s = settle(consumed(), { status: 'retry', error: 'HTTP 503' }, ctx);
  assert.equal(s.outputs.length, 1);
  const out = s.outputs[0]!;
  assert.equal(out.topic, 'leads.backup');
  assert.equal(lead(out.value).delivery?.attempt, 1);
  assert.equal(lead(out.value).delivery?.lastError, 'HTTP 503');
  assert.ok((lead(out.value).delivery?.nextAttemptAt ?? 0) >= 50_500);
  assert.deepEqual(s.history.map((h) => h.type), ['failed', 'retried']);
});

test('retry after the last attempt: DLQ with the reason and where it came from', () => {
  const s = settle(consumed(2), { status: 'retry', error: 'HTTP 503' }, ctx);
  const out = s.outputs[0]!;
  assert.equal(out.topic, 'leads.dlq');
  const dead = lead(out.value).deadLetter;
  assert.match(dead?.reason ?? '', /gave up after 3 attempts; last error: HTTP 503/);
  assert.deepEqual([dead?.topic, dead?.partition, dead?.offset], ['leads.primary', 2, '41']);
  assert.equal(s.history[0]?.type, 'dead');
  assert.equal(out.headers?.['x-destination'], 'primary:buyer-us');
});

test('dead: straight to the DLQ with the reason', () => {
  const s = settle(consumed(), { status: 'dead', reason: 'buyer rejected the lead: duplicate' }, ctx);
  assert.equal(s.outputs[0]?.topic, 'leads.dlq');
  assert.equal(s.outputs[0]?.headers?.['x-dead-reason'], 'buyer rejected the lead: duplicate');
});

test('fallback: onto the next provider\'s topic with the rest of the list; an unknown one is dead', () => {
  const c = consumed(0, { destination: 'sms:twilio', fallbacks: ['sms:eurosms'] });
  const s = settle(c, { status: 'fallback', error: 'timeout', next: 'sms:eurosms' }, ctx);
  assert.equal(s.outputs[0]?.topic, 'leads.sms.eurosms');
  assert.deepEqual(lead(s.outputs[0]?.value).delivery?.fallbacks, []);
  assert.deepEqual(s.history.map((h) => h.type), ['failed', 'fallback']);
  assert.equal(settle(c, { status: 'fallback', error: 'x', next: 'sms:ghost' }, ctx).outputs[0]?.topic, 'leads.dlq');
});

test('events of a redelivered record get the same ids; another attempt gets new ones', () => {
  const ids = (attempt: number) => withEvents(settle(consumed(attempt), { status: 'delivered' }, ctx), topology).map((o) => (o.value as { eventId: string }).eventId);
  assert.deepEqual(ids(0), ids(0));
  assert.notDeepEqual(ids(0), ids(1));
});
