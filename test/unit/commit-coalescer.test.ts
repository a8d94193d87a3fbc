/**
 * Commits gathered per interval (src/kafka/commit-coalescer.ts): one request for many batches,
 * the latest offset per partition, in order, one in flight at a time; stop sends at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCommitCoalescer, type CommitOffset } from '../../src/kafka/commit-coalescer.js';

function harness(intervalMs = 100) {
  const timers: (() => void)[] = [];
  const sent: CommitOffset[][] = [];
  const answers: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const errors: unknown[] = [];
  const c = createCommitCoalescer({
    intervalMs,
    send: (offsets) => {
      sent.push(offsets);
      return new Promise<void>((resolve, reject) => answers.push({ resolve, reject }));
    },
    onError: (e) => errors.push(e),
    setTimer: (fn) => {
      timers.push(fn);
      return timers.length - 1;
    },
    clearTimer: (t) => {
      timers[t as number] = () => undefined;
    },
  });
  const fire = () => {
    const due = timers.splice(0);
    for (const f of due) f();
  };
  return { c, timers, sent, answers, errors, fire };
}
const o = (partition: number, offset: number, topic = 'leads.raw'): CommitOffset => ({ topic, partition, offset: String(offset) });
const tick = () => new Promise((r) => setImmediate(r));

test('batches within one interval make one commit, with the latest offset of each partition', async () => {
  const h = harness();
  h.c.add([o(0, 11)]);
  h.c.add([o(1, 5)]);
  h.c.add([o(0, 13)]);
  assert.equal(h.sent.length, 0, 'nothing sent before the interval');
  assert.equal(h.timers.length, 1, 'one timer for the interval, not one per batch');
  h.fire();
  await tick();
  assert.deepEqual(h.sent, [[o(0, 13), o(1, 5)]]);
  assert.equal(h.c.pending(), 0);
});

test('one commit in flight at a time: the next waits for its answer, in order', async () => {
  const h = harness();
  h.c.add([o(0, 1)]);
  h.fire();
  await tick();
  h.c.add([o(0, 2)]);
  h.fire();
  await tick();
  assert.equal(h.sent.length, 1, 'the second is held while the first is unanswered');
  h.answers[0]!.resolve();
  await tick();
  await tick();
  assert.deepEqual(h.sent, [[o(0, 1)], [o(0, 2)]]);
});

test('a failed commit is reported and does not stop later ones', async () => {
  const h = harness();
  h.c.add([o(0, 1)]);
  h.fire();
  await tick();
  h.answers[0]!.reject(new Error('REBALANCE_IN_PROGRESS'));
  await tick();
  await tick();
  assert.equal(h.errors.length, 1);
  h.c.add([o(0, 2)]);
  h.fire();
  await tick();
  assert.equal(h.sent.length, 2);
});

test('flush sends at once and resolves when answered (stopping: the last commit lands before leaving)', async () => {
  const h = harness();
  h.c.add([o(2, 7)]);
  let done = false;
  const flushed = h.c.flush().then(() => (done = true));
  await tick();
  assert.deepEqual(h.sent, [[o(2, 7)]]);
  assert.equal(done, false);
  h.answers[0]!.resolve();
  await flushed;
  assert.equal(done, true);
  h.fire(); // the cancelled timer sends nothing more
  await tick();
  assert.equal(h.sent.length, 1);
});

test('flush rejects when its commit fails (the caller logs it; records are read again)', async () => {
  const h = harness();
  h.c.add([o(0, 3)]);
  const flushed = h.c.flush();
  await tick();
  h.answers[0]!.reject(new Error('UNKNOWN_MEMBER_ID'));
  await assert.rejects(flushed, /UNKNOWN_MEMBER_ID/);
});

test('drop forgets offsets of an assignment that is gone', async () => {
  const h = harness();
  h.c.add([o(0, 9)]);
  h.c.drop();
  h.fire();
  await tick();
  assert.equal(h.sent.length, 0);
  assert.equal(h.c.pending(), 0);
});

test('an interval of 0 commits every batch at once (the behaviour before)', async () => {
  const h = harness(0);
  h.c.add([o(0, 1)]);
  await tick();
  assert.deepEqual(h.sent, [[o(0, 1)]]);
  assert.equal(h.timers.length, 0);
});
