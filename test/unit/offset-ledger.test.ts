import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffsetLedger } from '../../src/kafka/offset-ledger.js';

test('commits only up to the first offset that is not done', () => {
  const l = new OffsetLedger();
  for (const o of ['10', '11', '12', '13']) l.track('t', 0, o);
  l.done('t', 0, '11');
  l.done('t', 0, '12');
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '10' }]);
  l.done('t', 0, '10');
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '13' }]);
  assert.equal(l.pending(), 1);
  l.done('t', 0, '13');
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '14' }]);
  assert.deepEqual(l.takeCommits(), [], 'nothing moved, nothing to commit');
});

test('partitions are independent and re-tracking a redelivered offset is harmless', () => {
  const l = new OffsetLedger();
  l.track('t', 0, '5');
  l.track('t', 1, '7');
  l.track('t', 0, '5');
  l.done('t', 1, '7');
  assert.deepEqual(l.takeCommits(), [
    { topic: 't', partition: 0, offset: '5' },
    { topic: 't', partition: 1, offset: '8' },
  ]);
  l.done('t', 0, '5');
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '6' }]);
});

test('reset forgets everything (after a rebalance)', () => {
  const l = new OffsetLedger();
  l.track('t', 0, '1');
  l.reset();
  assert.equal(l.pending(), 0);
  assert.deepEqual(l.takeCommits(), []);
});

test('pending counts only unfinished offsets: done ones behind a stuck one are no work in hand', () => {
  const l = new OffsetLedger();
  for (let o = 0; o < 100; o++) l.track('t', 0, String(o));
  for (let o = 1; o < 100; o++) l.done('t', 0, String(o));
  assert.equal(l.pending(), 1, 'one record is unfinished, 99 are done');
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '0' }]);
  l.done('t', 0, '0');
  assert.equal(l.pending(), 0);
  assert.deepEqual(l.takeCommits(), [{ topic: 't', partition: 0, offset: '100' }]);
});

test('done for an offset that was never tracked (after a reset) changes nothing', () => {
  const l = new OffsetLedger();
  l.track('t', 0, '3');
  l.reset();
  l.done('t', 0, '3');
  assert.equal(l.pending(), 0);
  assert.deepEqual(l.takeCommits(), []);
});
