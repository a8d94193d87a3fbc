import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/sinks/outcomes.js';
import { leadEvent } from '../support/fixtures.js';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 3, maxAgeMs: 3_600_000 };
const ctx = { stage: 'sink-primary', policy, backupTopic: 'leads.backup', dlqTopic: 'leads.dlq', now: 50_000 };
const delivery = { destination: 'primary:buyer-us', rule: 'us', attempt: 0, firstAttemptAt: 49_000, nextAttemptAt: null, lastError: null, fallbacks: [] };
const consumed = (attempt = 0) => ({ event: leadEvent({ delivery: { ...delivery, attempt } }), topic: 'leads.primary', partition: 2, offset: '41', key: null });

test('delivered: history only, nothing to produce', () => {
  const s = settle(consumed(), { status: 'delivered', detail: 'ok' }, ctx);
  assert.deepEqual(s.outputs, []);
  assert.equal(s.history[0]?.type, 'delivered');
});

test('retry: a backup record with the next attempt, its time and the error', () => {
  const s = settle(consumed(), { status: 'retry', error: 'HTTP 503' }, ctx);
  assert.equal(s.outputs.length, 1);
  const out = s.outputs[0]!;
  assert.equal(out.topic, 'leads.backup');
  assert.equal(out.event.delivery?.attempt, 1);
  assert.equal(out.event.delivery?.lastError, 'HTTP 503');
  assert.ok((out.event.delivery?.nextAttemptAt ?? 0) >= 50_500);
  assert.deepEqual(s.history.map((h) => h.type), ['failed', 'retried']);
});

test('retry after the last attempt: DLQ with the reason and where it came from', () => {
  const s = settle(consumed(2), { status: 'retry', error: 'HTTP 503' }, ctx);
  const out = s.outputs[0]!;
  assert.equal(out.topic, 'leads.dlq');
  assert.match(out.event.deadLetter?.reason ?? '', /gave up after 3 attempts; last error: HTTP 503/);
  assert.deepEqual([out.event.deadLetter?.topic, out.event.deadLetter?.partition, out.event.deadLetter?.offset], ['leads.primary', 2, '41']);
  assert.equal(s.history[0]?.type, 'dead');
});

test('dead: straight to the DLQ with the reason', () => {
  const s = settle(consumed(), { status: 'dead', reason: 'buyer rejected the lead: duplicate' }, ctx);
  assert.equal(s.outputs[0]?.topic, 'leads.dlq');
  assert.equal(s.outputs[0]?.headers?.['x-dead-reason'], 'buyer rejected the lead: duplicate');
});
