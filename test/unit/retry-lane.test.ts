import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRetryQuota } from '../../src/stages/retry-quota.js';
import { retryRecord } from '../../src/stages/backup-stage.js';
import { buildTopology } from '../../src/topology.js';
import { loadConfig } from '../../src/config.js';
import { Abandoned } from '../../src/errors.js';
import { leadEvent, shippedRouterConfig } from '../support/fixtures.js';

/** A clock that moves only when the quota waits. */
function fakeTime() {
  let t = 1_000_000;
  const waits: number[] = [];
  return {
    now: () => t,
    wait: async (ms: number) => {
      waits.push(ms);
      t += ms;
    },
    waits,
    advance: (ms: number) => void (t += ms),
  };
}

test('retry quota: a second of retries goes at once, the next waits for the bucket to refill', async () => {
  const clock = fakeTime();
  const quota = createRetryQuota(50, clock.now, clock.wait);
  const start = clock.now();
  await quota.take(50, () => false);
  assert.equal(clock.now(), start, 'a full bucket: no wait');
  await quota.take(25, () => false);
  assert.equal(clock.now() - start, 500, '25 leads at 50 a second: half a second');
  assert.equal(await quota.take(50, () => false), 1000, 'it says how long it waited (the throttled metric)');
  assert.equal(clock.now() - start, 1500);
  assert.ok(clock.waits.every((ms) => ms <= 250), 'waits in short steps, so an abandoned job stops soon');
});

test('retry quota: a job larger than the bucket goes when it is full and the next jobs wait out its debt', async () => {
  const clock = fakeTime();
  const quota = createRetryQuota(10, clock.now, clock.wait);
  await quota.take(30, () => false); // 20 leads of debt: two seconds
  const before = clock.now();
  await quota.take(10, () => false);
  assert.equal(clock.now() - before, 3000, 'the debt (2 s) and its own second');
});

test('retry quota: idle time refills at most one second of it', async () => {
  const clock = fakeTime();
  const quota = createRetryQuota(20, clock.now, clock.wait);
  await quota.take(20, () => false);
  clock.advance(60_000);
  await quota.take(20, () => false);
  const before = clock.now();
  await quota.take(20, () => false);
  assert.equal(clock.now() - before, 1000, 'a minute idle does not let a minute of retries go at once');
});

test('retry quota: a job abandoned while it waits (its group rebalanced) stops waiting', async () => {
  const clock = fakeTime();
  const quota = createRetryQuota(10, clock.now, clock.wait);
  await quota.take(10, () => false);
  let checks = 0;
  await assert.rejects(quota.take(10, () => ++checks > 2), Abandoned);
  assert.ok(clock.now() - 1_000_000 < 1000, 'stopped before the bucket refilled');
});

test('backup: a due delivery goes onto its destination\'s retry topic, SMS keyed by phone, due now', () => {
  const topology = buildTopology({ env: loadConfig({}).env, router: shippedRouterConfig() });
  const base = leadEvent();
  const delivery = { ...base.delivery!, attempt: 2, nextAttemptAt: 123 };
  const buyer = retryRecord({ ...base, delivery: { ...delivery, destination: 'primary:buyer-us' } }, topology);
  assert.equal(buyer.topic, 'leads.retry.primary');
  assert.equal(buyer.key, base.leadId);
  assert.equal((buyer.value as typeof base).delivery?.nextAttemptAt, null);
  assert.equal((buyer.value as typeof base).delivery?.attempt, 2, 'the attempt it carries decides the next backoff or the DLQ');
  const text = retryRecord({ ...base, delivery: { ...delivery, destination: 'sms:twilio' } }, topology);
  assert.equal(text.topic, 'leads.retry.sms.twilio');
  assert.equal(text.key, base.enrichment!.phone.e164);
  assert.equal(retryRecord({ ...base, delivery: { ...delivery, destination: 'search:leads' } }, topology).topic, 'leads.retry.search');
  assert.throws(() => retryRecord({ ...base, delivery: { ...delivery, destination: 'sms:gone' } }, topology), /no topic for destination "sms:gone"/);
});
