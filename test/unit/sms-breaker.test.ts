/**
 * A provider's circuit: open after N failures, one trial text after the reset time while every
 * other job keeps falling back, closed by a trial that succeeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProviderCircuit } from '../../src/sinks/sms/breaker.js';

test('opens after the threshold of consecutive failures; a success in between starts the count again', () => {
  let t = 0;
  const c = new ProviderCircuit(3, 5000, () => t);
  c.failure();
  c.failure();
  c.success();
  c.failure();
  c.failure();
  assert.equal(c.allows(), true);
  c.failure();
  assert.equal(c.isOpen(), true);
  assert.equal(c.allows(), false);
  t = 4999;
  assert.equal(c.allows(), false);
});

test('after the reset time one caller gets the trial; the others fall back until it answers', () => {
  let t = 0;
  const c = new ProviderCircuit(1, 5000, () => t);
  c.failure();
  t = 5000;
  assert.equal(c.allows(), true, 'the trial');
  assert.equal(c.allows(), false, 'a second job while the trial is out');
  assert.equal(c.isOpen(), true);
  c.success();
  assert.equal(c.isOpen(), false);
  assert.equal(c.allows(), true);
  assert.equal(c.allows(), true);
});

test('a failed trial opens the circuit for another reset time; a trial that never answers frees the next one after it', () => {
  let t = 0;
  const c = new ProviderCircuit(2, 5000, () => t);
  c.failure();
  c.failure();
  t = 5000;
  assert.equal(c.allows(), true);
  t = 5100;
  c.failure();
  t = 10_000;
  assert.equal(c.allows(), false, 'reopened at 5100 for 5000 ms');
  t = 10_100;
  assert.equal(c.allows(), true, 'second trial');
  // No answer (the job was abandoned or its texts went stale): the next trial comes a reset later.
  t = 15_099;
  assert.equal(c.allows(), false);
  t = 15_100;
  assert.equal(c.allows(), true);
});

test('admit() says how many texts may go: all while closed, one as the trial, none while it is out', () => {
  let t = 0;
  const c = new ProviderCircuit(1, 5000, () => t);
  assert.equal(c.admit(), 'all');
  c.failure();
  assert.equal(c.admit(), 'none');
  t = 5000;
  assert.equal(c.admit(), 'one');
  assert.equal(c.admit(), 'none');
  c.success();
  assert.equal(c.admit(), 'all');
});
