import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, decideRetry } from '../../src/sinks/retry-policy.js';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 5, maxAgeMs: 3_600_000 };

test('backoff doubles per attempt, with equal jitter, and is capped', () => {
  assert.equal(backoffMs(policy, 1, () => 0), 500);
  assert.equal(backoffMs(policy, 1, () => 1), 1000);
  assert.equal(backoffMs(policy, 3, () => 1), 4000);
  assert.equal(backoffMs(policy, 20, () => 1), 60_000);
  assert.equal(backoffMs(policy, 20, () => 0), 30_000);
});

test('a failed attempt is retried with the next attempt number until maxAttempts', () => {
  const r = decideRetry(policy, 0, 0, 10_000, () => 1);
  assert.deepEqual(r, { retry: true, attempt: 1, nextAttemptAt: 11_000 });
  const last = decideRetry(policy, 4, 0, 10_000);
  assert.equal(last.retry, false);
  assert.match(last.retry ? '' : last.reason, /after 5 attempts/);
});

test('a delivery older than maxAgeMs is given up even with attempts left', () => {
  const r = decideRetry(policy, 1, 0, 3_600_000, () => 1);
  assert.equal(r.retry, false);
  assert.match(r.retry ? '' : r.reason, /older than 3600 s/);
});
