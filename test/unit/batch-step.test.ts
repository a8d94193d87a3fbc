/**
 * The stage runner's batch step over fakes: no Kafka. Each test is a way a batch can go wrong
 * (poison, registry hiccup, produce failure, rebalance, shutdown, bad output, oversized output,
 * a handler bug, a slow batch) and what must follow: nothing lost, nothing wedged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createBatchStep, type BatchControl } from '../../src/kafka/batch-step.js';
import { RecordTooLargeError, type Consumed, type Output, type RawRecord, type RecordResult, type StageLogic } from '../../src/kafka/stage-contract.js';
import { SchemaError, type Encoder } from '../../src/kafka/codec.js';
import { Abandoned, PoisonMessageError, RetriableError } from '../../src/errors.js';
import { fixedLimits, type EncodedRecord } from '../../src/kafka/produce-limits.js';

const log = pino({ level: 'silent' });
type Lead = { id: string; bad?: boolean; big?: boolean; boom?: boolean };

const raw = (offset: number, value: Lead | string = { id: `L${offset}` }, partition = 0): RawRecord => ({
  topic: 'in',
  partition,
  offset: String(offset),
  key: Buffer.from(`k${offset}`),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
});

const encoder: Encoder = {
  encode(topic, value) {
    if (Buffer.isBuffer(value)) return value;
    const v = value as Lead;
    if (v.bad) throw new SchemaError(`does not fit the ${topic} schema at email.status`);
    return Buffer.from(v.big ? 'x'.repeat(5000) : JSON.stringify(v));
  },
};

function fakes(opts: { failSends?: number; sendError?: () => Error; tooLargeAbove?: number } = {}) {
  const sent: EncodedRecord[][] = [];
  const commits: { topic: string; partition: number; offset: string }[][] = [];
  let failures = opts.failSends ?? 0;
  let heartbeats = 0;
  let stale = false;
  const control: BatchControl = {
    heartbeat: async () => void heartbeats++,
    isStale: () => stale,
    commit: async (o) => void commits.push(o),
  };
  const producer = {
    async send(records: EncodedRecord[]) {
      if (opts.tooLargeAbove && records.length > opts.tooLargeAbove) throw new RecordTooLargeError('MESSAGE_TOO_LARGE');
      if (failures > 0) {
        failures--;
        throw opts.sendError?.() ?? new RetriableError('broker: not enough replicas');
      }
      sent.push(records);
    },
  };
  return { sent, commits, control, producer, heartbeats: () => heartbeats, makeStale: () => void (stale = true) };
}

function logic(handle: (records: Consumed<Lead>[]) => Promise<RecordResult[]>, decode?: StageLogic<Lead>['decode']): StageLogic<Lead> {
  return {
    decode:
      decode ??
      (async (b) => {
        try {
          return JSON.parse(b!.toString()) as Lead;
        } catch {
          throw new PoisonMessageError('not JSON');
        }
      }),
    handle,
    deadLetter: (r, reason): Output[] => [{ topic: 'dlq', key: r.value.id, value: { id: r.value.id }, headers: { 'x-dead-reason': reason } }],
  };
}

const forward = async (records: Consumed<Lead>[]): Promise<RecordResult[]> => records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] }));

function step(f: ReturnType<typeof fakes>, l: StageLogic<Lead>, extra: { stopping?: () => boolean; limitBytes?: number; jobSize?: number } = {}) {
  return createBatchStep<Lead>({
    stage: 'test',
    logic: l,
    encoder,
    producer: f.producer,
    limits: fixedLimits(extra.limitBytes ?? 1_048_588, 1000),
    poisonTopic: 'poison',
    log,
    heartbeatEveryMs: 10,
    backoff: { initialMs: 1, maxMs: 5 },
    commitOutside: async (o) => void f.commits.push(o),
    isStopping: extra.stopping ?? (() => false),
    ...(extra.jobSize ? { jobSize: extra.jobSize } : {}),
  });
}

const topics = (f: ReturnType<typeof fakes>) => f.sent.flat().map((r) => r.topic);

test('a batch is handled, its outputs produced, then its offsets committed (next offset to read)', async () => {
  const f = fakes();
  const status = await step(f, logic(forward)).processBatch([raw(5), raw(6)], f.control);
  assert.equal(status, 'committed');
  assert.deepEqual(topics(f), ['out', 'out']);
  assert.deepEqual(f.commits, [[{ topic: 'in', partition: 0, offset: '7' }]]);
});

test('with a job size, a large batch is handled and committed job by job', async () => {
  const f = fakes();
  const handled: number[] = [];
  const s = step(f, logic(async (records) => (handled.push(records.length), forward(records))), { jobSize: 100 });
  const status = await s.processBatch(Array.from({ length: 250 }, (_, i) => raw(i)), f.control);
  assert.equal(status, 'committed');
  assert.deepEqual(handled, [100, 100, 50]);
  assert.deepEqual(f.commits.map((c) => c[0]!.offset), ['100', '200', '250']);
});

test('with a job size, a rebalance is noticed between jobs: the rest is left to the new owner', async () => {
  const f = fakes();
  const handled: number[] = [];
  const s = step(f, logic(async (records) => (handled.push(records.length), handled.length === 1 && f.makeStale(), forward(records))), { jobSize: 100 });
  const status = await s.processBatch(Array.from({ length: 250 }, (_, i) => raw(i)), f.control);
  assert.equal(status, 'stale');
  assert.deepEqual(handled, [100]);
  assert.deepEqual(f.commits, []);
});

test('a poison record goes to the poison topic with context headers; the rest of the batch goes on', async () => {
  const f = fakes();
  await step(f, logic(forward)).processBatch([raw(1), raw(2, 'not json'), raw(3)], f.control);
  const poison = f.sent.flat().find((r) => r.topic === 'poison')!;
  assert.equal(poison.value.toString(), 'not json');
  assert.equal(poison.headers?.['x-original-offset'], '2');
  assert.match(poison.headers?.['x-dead-reason'] ?? '', /not JSON/);
  assert.equal(topics(f).filter((t) => t === 'out').length, 2);
  assert.deepEqual(f.commits.at(-1), [{ topic: 'in', partition: 0, offset: '4' }]);
});

test('a registry hiccup while decoding is waited out: the lead is not dead-lettered', async () => {
  const f = fakes();
  let calls = 0;
  const decode = async (b: Buffer | null) => {
    if (calls++ < 2) throw new RetriableError('registry: HTTP 503');
    return JSON.parse(b!.toString()) as Lead;
  };
  await step(f, logic(forward, decode)).processBatch([raw(1)], f.control);
  assert.deepEqual(topics(f), ['out']);
  assert.equal(calls, 3);
});

test('a produce failure is retried; nothing is committed before the outputs are acknowledged', async () => {
  const f = fakes({ failSends: 3 });
  await step(f, logic(forward)).processBatch([raw(1)], f.control);
  assert.equal(f.sent.length, 1);
  assert.deepEqual(f.commits, [[{ topic: 'in', partition: 0, offset: '2' }]]);
});

test('a rebalance mid-batch: the work is not committed (the new owner redoes it)', async () => {
  const f = fakes();
  const s = step(f, logic(async (records) => {
    f.makeStale();
    return forward(records);
  }));
  assert.equal(await s.processBatch([raw(1), raw(2)], f.control), 'stale');
  assert.deepEqual(f.commits, []);
});

test('a rebalance mid-batch: a long handler is told, stops early (Abandoned), and nothing is produced or committed', async () => {
  const f = fakes();
  let toldAbandoned = false;
  const l: StageLogic<Lead> = {
    ...logic(forward),
    async handle(records, _ctx, abandoned) {
      f.makeStale(); // the heartbeat learns the group is rebalancing
      toldAbandoned = abandoned();
      if (toldAbandoned) throw new Abandoned('texts left to the next owner');
      return forward(records);
    },
  };
  assert.equal(await step(f, l).processBatch([raw(1), raw(2)], f.control), 'abandoned');
  assert.ok(toldAbandoned, 'the handler saw abandoned() turn true');
  assert.deepEqual(f.sent, []);
  assert.deepEqual(f.commits, []);
});

test('a slow batch keeps heartbeating while it works', async () => {
  const f = fakes();
  await step(f, logic(async (records) => {
    await new Promise((r) => setTimeout(r, 120));
    return forward(records);
  })).processBatch([raw(1)], f.control);
  assert.ok(f.heartbeats() >= 3, `only ${f.heartbeats()} heartbeats during a 120 ms batch (every 10 ms)`);
});

test('shutdown mid-batch: a batch that can finish is produced and committed', async () => {
  const f = fakes();
  let stopping = false;
  const s = step(f, logic(async (records) => {
    stopping = true; // SIGTERM arrives while the buyer is answering
    return forward(records);
  }), { stopping: () => stopping });
  assert.equal(await s.processBatch([raw(1)], f.control), 'committed');
  assert.deepEqual(f.commits, [[{ topic: 'in', partition: 0, offset: '2' }]]);
});

test('shutdown while waiting out a broker outage: the batch is abandoned, nothing committed', async () => {
  const f = fakes({ failSends: 1000 });
  let stopping = false;
  setTimeout(() => (stopping = true), 30);
  assert.equal(await step(f, logic(forward), { stopping: () => stopping }).processBatch([raw(1)], f.control), 'abandoned');
  assert.deepEqual(f.commits, []);
});

test('an output that breaks its schema dead-letters that lead only; the batch goes on', async () => {
  const f = fakes();
  await step(f, logic(async (records) => records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: { ...r.value, bad: r.value.id === 'L2' } }] })))).processBatch([raw(1), raw(2), raw(3)], f.control);
  const dlq = f.sent.flat().filter((r) => r.topic === 'dlq');
  assert.equal(dlq.length, 1);
  assert.match(dlq[0]!.headers?.['x-dead-reason'] ?? '', /cannot be encoded: does not fit the out schema at email.status/);
  assert.equal(topics(f).filter((t) => t === 'out').length, 2);
  assert.deepEqual(f.commits.at(-1), [{ topic: 'in', partition: 0, offset: '4' }]);
});

test('a backlog is produced in requests within the broker limit; a lead too large on its own is dead-lettered', async () => {
  const f = fakes();
  const records = Array.from({ length: 300 }, (_, i) => raw(i, { id: `L${i}`, big: i === 7 }));
  // 300 outputs of ~40 bytes, with a 4 KB limit: several requests, none above the budget.
  await step(f, logic(forward), { limitBytes: 4096 }).processBatch(records, f.control);
  assert.ok(f.sent.length > 2, `${f.sent.length} requests`);
  for (const req of f.sent) assert.ok(req.reduce((n, r) => n + r.value.length + 40, 0) <= 4096, 'every request fits');
  assert.equal(f.sent.flat().filter((r) => r.topic === 'dlq').length, 1, 'the 5 KB lead is dead-lettered');
  assert.match(f.sent.flat().find((r) => r.topic === 'dlq')!.headers?.['x-dead-reason'] ?? '', /too large/);
  assert.deepEqual(f.commits.at(-1), [{ topic: 'in', partition: 0, offset: '300' }]);
});

test('when the broker still refuses a request as too large, it is split until it fits', async () => {
  const f = fakes({ tooLargeAbove: 2 });
  await step(f, logic(forward)).processBatch([raw(1), raw(2), raw(3), raw(4), raw(5)], f.control);
  assert.deepEqual(f.sent.flat().map((r) => r.key?.toString()), ['L1', 'L2', 'L3', 'L4', 'L5'], 'all produced, in order');
  assert.ok(f.sent.every((req) => req.length <= 2));
});

test('a handler bug on one record dead-letters that record, not the batch, and never crash-loops', async () => {
  const f = fakes();
  await step(f, logic(async (records) => {
    if (records.some((r) => r.value.boom)) throw new TypeError("Cannot read properties of undefined (reading 'zone')");
    return forward(records);
  })).processBatch([raw(1), raw(2, { id: 'L2', boom: true }), raw(3)], f.control);
  assert.deepEqual(f.sent.flat().map((r) => r.topic).sort(), ['dlq', 'out', 'out']);
  assert.match(f.sent.flat().find((r) => r.topic === 'dlq')!.headers?.['x-dead-reason'] ?? '', /stage test failed: Cannot read/);
});

test('deferred records hold the commit point until completed; pending counts only unfinished ones', async () => {
  const f = fakes();
  const held: Consumed<Lead>[] = [];
  const s = step(f, logic(async (records) => records.map((r) => (r.value.id === 'L1' ? (held.push(r), { deferred: true as const }) : { outputs: [] }))));
  await s.processBatch([raw(1), raw(2), raw(3)], f.control);
  assert.ok(f.commits.flat().every((c) => Number(c.offset) <= 1), 'offset 1 is unfinished: the commit point stays at it');
  assert.equal(s.ledger.pending(), 1);
  await s.context.complete(held[0]!, [{ topic: 'out', key: 'L1', value: { id: 'L1' } }], () => true);
  assert.deepEqual(f.commits.at(-1), [{ topic: 'in', partition: 0, offset: '4' }]);
  assert.equal(s.ledger.pending(), 0);
});

test('completing a held record after its partition moved produces nothing and commits nothing', async () => {
  const f = fakes({ failSends: 1 });
  const held: Consumed<Lead>[] = [];
  const s = step(f, logic(async (records) => records.map((r) => (held.push(r), { deferred: true as const }))));
  await s.processBatch([raw(1)], f.control);
  await assert.rejects(s.context.complete(held[0]!, [{ topic: 'out', key: 'L1', value: { id: 'L1' } }], () => false), /abandoned/);
  assert.deepEqual(f.sent, []);
  assert.ok(f.commits.flat().every((c) => Number(c.offset) <= 1), 'never committed past the held record');
});
