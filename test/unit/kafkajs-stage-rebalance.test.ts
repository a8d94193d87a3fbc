/**
 * The KafkaJS adapter over a fake consumer: once a heartbeat hears the group rebalancing, the
 * fetch's other partitions are not worked (nothing they did could be committed) and KafkaJS's
 * runner gets the heartbeat's error at once, so it rejoins instead of waiting for each
 * partition's batch to run into its own heartbeat.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import kafkajs, { type EachBatchPayload, type Kafka } from 'kafkajs';
import { runKafkaStage } from '../../src/kafka/kafkajs-stage.js';
import type { Consumed, RecordResult, StageLogic } from '../../src/kafka/stage-contract.js';
import { fixedLimits } from '../../src/kafka/produce-limits.js';

type Lead = { id: string };

function fakeKafka() {
  const handlers = new Map<string, ((e: { payload: Record<string, unknown> }) => void)[]>();
  const emit = (name: string, payload: Record<string, unknown>) => handlers.get(name)!.forEach((fn) => fn({ payload }));
  let eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  const calls: string[] = [];
  const lifecycle: string[] = [];
  let commitError: Error | null = null;
  const events = { GROUP_JOIN: 'join', REBALANCING: 'rebalancing', FETCH: 'fetch', HEARTBEAT: 'heartbeat', CRASH: 'crash' };
  const consumer = {
    events,
    on: (name: string, fn: (e: { payload: Record<string, unknown> }) => void) => void handlers.set(name, [...(handlers.get(name) ?? []), fn]),
    connect: async () => void lifecycle.push('connect'),
    subscribe: async () => undefined,
    run: async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
      lifecycle.push('run');
      eachBatch = o.eachBatch;
    },
    pause: () => void calls.push('pause'),
    resume: () => void calls.push('resume'),
    stop: async () => undefined,
    disconnect: async () => undefined,
    commitOffsets: async () => {
      if (commitError) throw commitError;
    },
  };
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  return {
    kafka,
    calls,
    lifecycle,
    failCommits: (err: Error) => void (commitError = err),
    eachBatch: (p: EachBatchPayload) => eachBatch!(p),
    join: () => emit('join', { memberId: 'm1', memberAssignment: {} }),
    crash: (error: Error = new Error('Connection error: connect ECONNREFUSED'), restart = false) => emit('crash', { error, restart }),
  };
}

/** The stage under test over the fake consumer: heartbeats every 500 ms inside a batch (session 3 s). */
function start(f: ReturnType<typeof fakeKafka>, logic: StageLogic<Lead>, extra: { partitionsConsumedConcurrently?: number; maxPending?: number; commitIntervalMs?: number; onCrash?: (err: Error) => void } = {}) {
  return runKafkaStage<Lead>({
    name: 'test',
    groupId: 'g',
    topics: ['in'],
    kafka: f.kafka,
    producer: { send: async () => undefined },
    encoder: { encode: (_t, v) => Buffer.from(JSON.stringify(v)) },
    limits: fixedLimits(1_000_000),
    logic,
    log: pino({ level: 'silent' }),
    poisonTopic: 'poison',
    partitionsConsumedConcurrently: extra.partitionsConsumedConcurrently ?? 1,
    sessionTimeoutMs: 3000,
    fetchMaxWaitMs: 100,
    ...(extra.maxPending ? { maxPending: extra.maxPending } : {}),
    ...(extra.commitIntervalMs !== undefined ? { commitIntervalMs: extra.commitIntervalMs } : {}),
    onCrash: extra.onCrash ?? (() => undefined),
  });
}

const rebalancing = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });

function batch(partition: number, heartbeat: () => Promise<void>): EachBatchPayload {
  return {
    batch: { topic: 'in', partition, messages: [{ offset: '0', key: Buffer.from('k'), value: Buffer.from(JSON.stringify({ id: `L${partition}` })), headers: {} }] },
    heartbeat,
    isStale: () => false,
    resolveOffset: () => undefined,
    commitOffsetsIfNecessary: async () => undefined,
  } as unknown as EachBatchPayload;
}

test("after a heartbeat hears 'rebalancing', the batch hands its error to KafkaJS's runner, which rejoins", async () => {
  const f = fakeKafka();
  const handled: string[] = [];
  let slow: () => void = () => undefined;
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    // The first batch waits until a heartbeat has heard the rebalance, as a slow batch does.
    handle: async (records: Consumed<Lead>[]): Promise<RecordResult[]> => {
      handled.push(...records.map((r) => r.value.id));
      await new Promise<void>((r) => (slow = r));
      return records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] }));
    },
    deadLetter: () => [],
  };
  const stage = await start(f, logic);
  f.join();

  const first = f.eachBatch(batch(0, async () => Promise.reject(rebalancing)));
  await new Promise((r) => setTimeout(r, 700)); // a heartbeat inside the batch has heard it
  slow();
  await assert.rejects(first, (err: { type?: string }) => err.type === 'REBALANCE_IN_PROGRESS', 'the batch that heard it hands the error on');
  assert.deepEqual(handled, ['L0']);

  // Joined again: partitions are worked as usual.
  f.join();
  const next = f.eachBatch(batch(1, async () => undefined));
  await new Promise((r) => setTimeout(r, 10));
  slow();
  await next;
  assert.deepEqual(handled, ['L0', 'L1']);
  await stage.stop();
});

test('every batch after the rebalance was heard is handed the error unworked, until the consumer joins again', async () => {
  const f = fakeKafka();
  const handled: string[] = [];
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    handle: async (records: Consumed<Lead>[]): Promise<RecordResult[]> => {
      handled.push(...records.map((r) => r.value.id));
      if (records[0]!.value.id === 'L0') await new Promise((r) => setTimeout(r, 700));
      return records.map(() => ({ outputs: [] }));
    },
    deadLetter: () => [],
  };
  const stage = await start(f, logic, { partitionsConsumedConcurrently: 2 });
  f.join();
  await assert.rejects(f.eachBatch(batch(0, async () => Promise.reject(rebalancing))));
  // Another partition of the same fetch (partitions consumed concurrently): not worked.
  await assert.rejects(f.eachBatch(batch(1, async () => undefined)), (err: { type?: string }) => err.type === 'REBALANCE_IN_PROGRESS');
  assert.deepEqual(handled, ['L0']);
  f.join();
  await f.eachBatch(batch(2, async () => undefined));
  assert.deepEqual(handled, ['L0', 'L2']);
  await stage.stop();
});

test('a stage paused at its holding limit fetches again when its coordinator cannot be reached, so the next batch can rejoin', async () => {
  const f = fakeKafka();
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    handle: async (records: Consumed<Lead>[]): Promise<RecordResult[]> => records.map(() => ({ deferred: true as const })),
    deadLetter: () => [],
  };
  const stage = await start(f, logic, { maxPending: 1 });
  f.join();
  await f.eachBatch(batch(0, async () => undefined));
  assert.deepEqual(f.calls, ['pause'], 'holding its limit: paused');
  // The coordinator's broker died: a commit (here, of a deferred record finishing) cannot reach it.
  f.failCommits(Object.assign(new Error('Broker 2 not found in the cached metadata'), { name: 'KafkaJSBrokerNotFound' }));
  const deferredRecord: Consumed<Lead> = { topic: 'in', partition: 0, offset: '0', key: 'k', value: { id: 'L0' }, raw: null, headers: {} };
  await stage.step.context.complete(deferredRecord, [], () => true);
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(f.calls, ['pause', 'resume'], 'fetching again');
  await assert.rejects(f.eachBatch(batch(0, async () => undefined)), (err: { type?: string }) => err.type === 'NOT_COORDINATOR_FOR_GROUP');
  await stage.stop();
});

test('batch by batch, commits are gathered: one request for the batches of an interval, the rest sent at stop', async () => {
  const f = fakeKafka();
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    handle: async (records: Consumed<Lead>[]): Promise<RecordResult[]> => records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] })),
    deadLetter: () => [],
  };
  const stage = await start(f, logic, { commitIntervalMs: 200 });
  f.join();
  const commits: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }[] = [];
  const payload = (partition: number, offset: number): EachBatchPayload =>
    ({
      batch: { topic: 'in', partition, messages: [{ offset: String(offset), key: null, value: Buffer.from(JSON.stringify({ id: `L${partition}-${offset}` })), headers: {} }] },
      heartbeat: async () => undefined,
      isStale: () => false,
      resolveOffset: () => undefined,
      commitOffsetsIfNecessary: async (o: (typeof commits)[number]) => void commits.push(o),
    }) as unknown as EachBatchPayload;
  await f.eachBatch(payload(0, 0));
  await f.eachBatch(payload(0, 1));
  await f.eachBatch(payload(1, 0));
  assert.equal(commits.length, 0, 'not one commit per batch');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(commits, [{ topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '2' }, { partition: 1, offset: '1' }] }] }]);
  await f.eachBatch(payload(1, 1));
  await stage.stop();
  assert.deepEqual(commits[1], { topics: [{ topic: 'in', partitions: [{ partition: 1, offset: '2' }] }] }, 'what was gathered lands before the group is left');
});

test('a crash makes the batch in hand stale: KafkaJS restarts the consumer without waiting for it, and nothing of it is committed', async () => {
  const f = fakeKafka();
  const seen: boolean[] = [];
  let release: () => void = () => undefined;
  const committed: string[] = [];
  const logic: StageLogic<Lead> = {
    decode: async (b) => JSON.parse(b!.toString()) as Lead,
    // An SMS job: checks abandoned() before each call, as the SMS sink does.
    handle: async (records: Consumed<Lead>[], _ctx, abandoned): Promise<RecordResult[]> => {
      seen.push(abandoned());
      if (records[0]!.value.id !== 'L1') await new Promise<void>((r) => (release = r));
      seen.push(abandoned());
      return records.map(() => ({ outputs: [] }));
    },
    deadLetter: () => [],
  };
  const stage = await start(f, logic, { partitionsConsumedConcurrently: 2 });
  f.join();
  const inHand = { ...batch(0, async () => undefined), commitOffsetsIfNecessary: async (o: unknown) => void committed.push(JSON.stringify(o)) } as unknown as EachBatchPayload;
  const first = f.eachBatch(inHand);
  await new Promise((r) => setTimeout(r, 10));
  f.crash();
  // Another partition of the crashed member's last fetch: not worked at all.
  let worked = false;
  await f.eachBatch({ ...batch(1, async () => undefined), resolveOffset: () => void (worked = true) } as unknown as EachBatchPayload);
  release();
  await first;
  assert.deepEqual(seen, [false, true], 'the job learns it no longer owns its batch');
  assert.equal(worked, false);
  assert.deepEqual(committed, []);
  // The restarted consumer joins: batches are worked again.
  f.join();
  const next = f.eachBatch(batch(2, async () => undefined));
  await new Promise((r) => setTimeout(r, 10));
  release();
  await next;
  assert.deepEqual(seen, [false, true, false, false]);
  await stage.stop();
});

/** What KafkaJS's retrier throws when it bails on "Failed to find group coordinator" (its types omit these arguments). */
function coordinatorNotFound(): Error {
  const NotFound = kafkajs.KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error;
  const Wrapped = kafkajs.KafkaJSNonRetriableError as unknown as new (e: Error, o: { cause: Error }) => Error;
  const cause = new NotFound('Failed to find group coordinator');
  return new Wrapped(cause, { cause });
}

const passThrough: StageLogic<Lead> = {
  decode: async (b) => JSON.parse(b!.toString()) as Lead,
  handle: async (records) => records.map((r) => ({ outputs: [{ topic: 'out', key: r.value.id, value: r.value }] })),
  deadLetter: () => [],
};

test('a crash KafkaJS gives up on while the broker is away restarts the consumer in this process, not the process', async () => {
  const f = fakeKafka();
  const crashes: Error[] = [];
  const stage = await start(f, passThrough, { onCrash: (err) => void crashes.push(err) });
  f.join();
  assert.deepEqual(f.lifecycle, ['connect', 'run']);
  // What KafkaJS's consumer emits when no broker answers its coordinator lookup (restart: false).
  f.crash(coordinatorNotFound(), false);
  assert.equal(stage.health().ready, false, 'not ready while out of its group');
  await new Promise((r) => setTimeout(r, 700)); // the first restart comes 0.5 s later
  assert.deepEqual(f.lifecycle, ['connect', 'run', 'connect', 'run'], 'connected and run again');
  assert.deepEqual(crashes, [], 'the process is not asked to stop');
  f.join();
  assert.equal(stage.health().ready, true);
  await stage.stop();
});

test('any other crash KafkaJS will not restart stops the stage for the supervisor to restart the process', async () => {
  const f = fakeKafka();
  const crashes: Error[] = [];
  const stage = await start(f, passThrough, { onCrash: (err) => void crashes.push(err) });
  f.join();
  f.crash(new kafkajs.KafkaJSNonRetriableError('Topic authorization failed'), false);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(crashes.length, 1);
  assert.deepEqual(f.lifecycle, ['connect', 'run'], 'not restarted here');
  await stage.stop();
});

test('a restart pending when the stage stops is called off', async () => {
  const f = fakeKafka();
  const stage = await start(f, passThrough);
  f.join();
  f.crash(coordinatorNotFound(), false);
  await stage.stop();
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(f.lifecycle, ['connect', 'run']);
});
