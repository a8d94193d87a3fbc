/**
 * Pipelined batches over fakes (src/kafka/pipeline.ts): a slow batch must not hold a faster one,
 * yet the commit point never passes an unfinished record; a rebalance or a stop in the middle
 * commits nothing that was not finished, and a bug is reported, not swallowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createBatchStep } from '../../src/kafka/batch-step.js';
import type { Consumed, RawRecord, RecordResult, StageLogic } from '../../src/kafka/stage-contract.js';
import { createPipeline } from '../../src/kafka/pipeline.js';
import { RetriableError } from '../../src/errors.js';
import { fixedLimits, type EncodedRecord } from '../../src/kafka/produce-limits.js';

type Lead = { id: string };
const log = pino({ level: 'silent' });
const raw = (offset: number, partition = 0): RawRecord => ({
  topic: 'in',
  partition,
  offset: String(offset),
  key: null,
  value: Buffer.from(JSON.stringify({ id: `L${offset}` })),
  headers: {},
});

/** A handler whose every lead waits until the test releases it (a destination answering late). */
function gated() {
  const gates = new Map<string, () => void>();
  const waiting = new Map<string, Promise<void>>();
  const gate = (id: string) => {
    if (!waiting.has(id)) waiting.set(id, new Promise<void>((r) => gates.set(id, r)));
    return waiting.get(id)!;
  };
  return { release: (id: string) => (gate(id), gates.get(id)!()), gate };
}

function setup(handle: (records: Consumed<Lead>[]) => Promise<RecordResult[]>, opts: { stopping?: () => boolean; maxJobRecords?: number; maxRecords?: number } = {}) {
  const sent: EncodedRecord[] = [];
  const commits: string[] = [];
  const failures: Error[] = [];
  let progress = 0;
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    handle,
    deadLetter: (r) => [{ topic: 'dlq', key: r.value.id, value: r.value }],
  };
  const step = createBatchStep<Lead>({
    stage: 'test',
    logic,
    encoder: { encode: (_t, v) => Buffer.from(JSON.stringify(v)) },
    producer: { send: async (records) => void sent.push(...records) },
    limits: fixedLimits(1_048_588, 1000),
    poisonTopic: 'poison',
    log,
    heartbeatEveryMs: 1000,
    backoff: { initialMs: 1, maxMs: 5 },
    commitOutside: async () => undefined,
    isStopping: opts.stopping ?? (() => false),
  });
  const pipeline = createPipeline(step, {
    stage: 'test',
    commit: async (offsets) => void commits.push(...offsets.map((o) => `${o.partition}:${o.offset}`)),
    isStopping: opts.stopping ?? (() => false),
    onProgress: () => void progress++,
    onFailed: (err) => void failures.push(err),
    commitEveryMs: 1,
    maxRecords: opts.maxRecords ?? 1000,
    ...(opts.maxJobRecords ? { maxJobRecords: opts.maxJobRecords } : {}),
  });
  return { step, pipeline, sent, commits, failures, progress: () => progress };
}

const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
/** One turn of the event loop: batches accepted before it have started as jobs. */
const turn = () => new Promise((r) => setImmediate(r));
const forwardAfter = (g: ReturnType<typeof gated>) => async (records: Consumed<Lead>[]) => {
  await Promise.all(records.map((r) => g.gate(r.value.id)));
  return records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] }));
};

test('a later batch finishes before a slow one; the commit point waits for the slow one', async () => {
  const g = gated();
  const s = setup(forwardAfter(g));
  s.pipeline.accept([raw(0), raw(1)]);
  await turn(); // fetched apart: two jobs
  s.pipeline.accept([raw(2), raw(3)]);
  assert.equal(s.pipeline.inFlight(), 2, 'both batches are worked on at once');
  g.release('L2');
  g.release('L3');
  await tick();
  assert.deepEqual(s.sent.map((r) => r.key), ['L2', 'L3'], 'the second batch was delivered without waiting for the first');
  // Committing the first unfinished offset itself is harmless: it says "read again from 0".
  assert.deepEqual(s.commits.filter((c) => c !== '0:0'), [], 'nothing committed past the unfinished first batch');
  assert.equal(s.step.ledger.pending(), 2);
  g.release('L0');
  g.release('L1');
  await tick();
  assert.equal(s.commits.at(-1), '0:4', 'once the first batch is done, everything up to offset 3 is committed in one go');
  assert.equal(s.pipeline.inFlight(), 0);
  assert.ok(s.progress() >= 2, 'back-pressure is re-checked as batches finish');
});

test('a large fetched batch is worked on in bounded jobs: a slow lead holds only its own job', async () => {
  const g = gated();
  const sizes: number[] = [];
  const s = setup(
    async (records) => {
      sizes.push(records.length);
      return forwardAfter(g)(records);
    },
    { maxJobRecords: 3 },
  );
  s.pipeline.accept([0, 1, 2, 3, 4, 5, 6].map((o) => raw(o)));
  assert.equal(s.pipeline.busy(), 7, 'what back-pressure counts, from the moment they are accepted');
  await turn();
  assert.equal(s.pipeline.inFlight(), 3, 'seven records, jobs of at most three');
  for (const id of ['L3', 'L4', 'L5', 'L6']) g.release(id);
  await tick();
  assert.deepEqual(sizes.sort(), [1, 3, 3]);
  assert.equal(s.pipeline.busy(), 3, 'only the waiting job counts now');
  assert.deepEqual(s.sent.map((r) => r.key).sort(), ['L3', 'L4', 'L5', 'L6'], 'later jobs delivered while the first waits');
  assert.deepEqual(s.commits.filter((c) => c !== '0:0'), [], 'the commit point waits for the first job');
  for (const id of ['L0', 'L1', 'L2']) g.release(id);
  await tick();
  assert.equal(s.commits.at(-1), '0:7');
});

test("one fetch's partitions are worked as one job (one round of sink calls), a later fetch as another", async () => {
  const sizes: number[] = [];
  const s = setup(async (records) => {
    sizes.push(records.length);
    return records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] }));
  });
  // KafkaJS hands a fetch's partitions to eachBatch one after another in the same turn.
  s.pipeline.accept([raw(0, 0), raw(1, 0)]);
  s.pipeline.accept([raw(7, 1)]);
  s.pipeline.accept([raw(3, 2)]);
  assert.equal(s.pipeline.inFlight(), 1);
  await tick();
  s.pipeline.accept([raw(2, 0)]);
  await tick();
  assert.deepEqual(sizes, [4, 1]);
  assert.deepEqual(s.sent.map((r) => r.key), ['L0', 'L1', 'L7', 'L3', 'L2']);
  assert.deepEqual([...new Set(s.commits)].sort().slice(-3), ['0:3', '1:8', '2:4'], 'every partition committed past its records');
  assert.equal(s.pipeline.busy(), 0);
});

test('revoked before the gathered batches started: they are never worked, and free their room', async () => {
  let calls = 0;
  const s = setup(async (records) => {
    calls++;
    return records.map(() => ({ outputs: [] }));
  });
  s.pipeline.accept([raw(0), raw(1)]);
  assert.equal(s.pipeline.busy(), 2);
  s.pipeline.revoke();
  await tick();
  assert.equal(calls, 0, 'their partitions are read again by whoever owns them next');
  assert.equal(s.pipeline.busy(), 0);
  assert.deepEqual(s.commits.filter((c) => c !== '0:0'), []);
  // Accepted after a revoke (the new assignment): worked as usual, without the revoked ones.
  s.pipeline.accept([raw(4)]);
  s.pipeline.revoke();
  s.pipeline.accept([raw(5)]);
  await tick();
  assert.equal(calls, 1);
  assert.deepEqual(s.sent, []);
});

test('a rebalance in the middle: the old work delivers but marks nothing done and commits nothing', async () => {
  const g = gated();
  const s = setup(forwardAfter(g));
  s.pipeline.accept([raw(0)]);
  await turn();
  s.pipeline.revoke();
  s.step.reset();
  s.step.ledger.track('in', 0, '0'); // re-read after rejoining: offset 0 is being worked on again
  g.release('L0');
  await tick();
  assert.deepEqual(s.commits.filter((c) => c !== '0:0'), [], 'the old work does not finish the new read of offset 0');
  assert.equal(s.step.ledger.pending(), 1);
});

test('stop: work in flight finishes and is committed by drain(); a batch waiting on a retry gives up uncommitted', async () => {
  let stopping = false;
  const g = gated();
  let failing = true;
  const s = setup(
    async (records) => {
      if (records.some((r) => r.value.id === 'L5') && failing) throw new RetriableError('store down');
      return forwardAfter(g)(records);
    },
    { stopping: () => stopping },
  );
  s.pipeline.accept([raw(0)]);
  await turn(); // fetched apart: the store failing for one job leaves the other
  s.pipeline.accept([raw(5, 1)]);
  await tick();
  stopping = true;
  g.release('L0');
  await s.pipeline.drain();
  assert.deepEqual(s.commits.sort(), ['0:1', '1:5'], 'the finished partition is committed; the retrying one stays at its own offset, to be read again');
  assert.deepEqual(s.sent.map((r) => r.key), ['L0']);
  failing = false;
});

test('a failure that is not transient is reported (the process restarts), never committed past', async () => {
  const broken = createBatchStep<Lead>({
    stage: 'test',
    logic: { decode: async () => ({ id: 'x' }), handle: async (r) => r.map(() => ({ outputs: [{ topic: 'out', key: 'x', value: {} }] })), deadLetter: () => [] },
    encoder: { encode: () => Buffer.from('{}') },
    producer: {
      send: async () => {
        throw new Error('authorization failed'); // not retriable
      },
    },
    limits: fixedLimits(1_048_588, 1000),
    poisonTopic: 'poison',
    log,
    heartbeatEveryMs: 1000,
    commitOutside: async () => undefined,
    isStopping: () => false,
  });
  const failures: Error[] = [];
  const commits: string[] = [];
  const p = createPipeline(broken, { stage: 'test', maxRecords: 1000, commit: async (o) => void commits.push(...o.map((c) => c.offset)), isStopping: () => false, onProgress: () => undefined, onFailed: (e) => void failures.push(e) });
  p.accept([raw(0)]);
  await p.drain();
  assert.equal(failures.length, 1);
  assert.match(failures[0]!.message, /authorization failed/);
  assert.ok(commits.every((o) => o === '0'), 'never past the failed record');
  assert.equal(broken.ledger.pending(), 1, 'the failed record stays unfinished: read again after the restart');
});

test('room(): a fetch is taken in whole jobs within the bound, never past it', async () => {
  const g = gated();
  const s = setup(forwardAfter(g), { maxJobRecords: 100, maxRecords: 250 });
  // Six partitions' worth fetched at once: only two whole jobs fit (200 of 250).
  assert.equal(s.pipeline.room(6000), 200);
  assert.equal(s.pipeline.room(30), 30); // a last partial job fits as it is
  s.pipeline.accept(Array.from({ length: 200 }, (_, i) => raw(i)));
  assert.equal(s.pipeline.busy(), 200);
  assert.equal(s.pipeline.room(500), 0, 'a whole job no longer fits: wait');
  assert.equal(s.pipeline.room(50), 50, 'but the last 50 of a batch do');
  for (let i = 0; i < 100; i++) g.release(`L${i}`);
  await tick(30);
  assert.equal(s.pipeline.busy(), 100);
  assert.equal(s.pipeline.room(500), 100, 'one job finished: one job more');
  for (let i = 100; i < 200; i++) g.release(`L${i}`);
  await tick(30);
  assert.equal(s.pipeline.room(6000), 200);
});

test('room(): a job size above the bound is cut to the bound, not waited for forever', () => {
  const s = setup(async () => [], { maxJobRecords: 500, maxRecords: 100 });
  assert.equal(s.pipeline.room(6000), 100);
});
