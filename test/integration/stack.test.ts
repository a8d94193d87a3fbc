/**
 * Proves the local stack (scripts/stack.ts) works with the client libraries the app uses.
 * Needs the stack up:  npm run stack:up && node --import tsx --test test/integration/stack.test.ts
 * Names are unique per run, so the test can run repeatedly against the same stack.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';

import { Client as EsClient } from '@elastic/elasticsearch';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import kafkajs from '../../src/kafka/kafkajs.js';
import { MongoClient } from 'mongodb';

import { stackEndpoints } from '../../scripts/stack.js';

const { Kafka, logLevel } = kafkajs;
const ep = stackEndpoints();
const run = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;

describe('kafka (kafkajs 2.2.4 against Kafka 4.1)', () => {
  const kafka = new Kafka({ clientId: `stack-test-${run}`, brokers: [ep.kafkaBrokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: `stack-test-${run}`, allowAutoTopicCreation: false });
  const topic = `stack-test.${run}`;
  after(async () => {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  test('admin creates a topic with 3 partitions', async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    assert.ok(cluster.brokers.length >= 1, 'no brokers in metadata');
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(md.topics[0]?.partitions.length, 3);
  });

  test('auto topic creation is off (unknown topic is not created)', async () => {
    const ghost = `${topic}.ghost`;
    await assert.rejects(
      admin.fetchTopicMetadata({ topics: [ghost] }),
      /does not host this topic-partition|UNKNOWN_TOPIC/i,
    );
    assert.ok(!(await admin.listTopics()).includes(ghost));
  });

  test('idempotent producer (acks -1) writes, consumer group with manual commits reads back', async () => {
    await producer.connect();
    const messages = Array.from({ length: 9 }, (_, i) => ({ key: `lead-${i % 3}`, value: JSON.stringify({ i, run }) }));
    const meta = await producer.send({ topic, acks: -1, messages });
    assert.ok(meta.length > 0 && meta.every((m) => m.errorCode === 0), `produce errors: ${JSON.stringify(meta)}`);

    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const seen: number[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        seen.push((JSON.parse(message.value!.toString()) as { i: number }).i);
        await consumer.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
        if (seen.length === messages.length) resolveAll();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`only got ${seen.length}/9`)), 30_000)));
    await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
    assert.deepEqual([...seen].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await consumer.stop();

    // the group's committed offsets are at the end of every partition (-1 = nothing committed, empty partition)
    const [committed] = await admin.fetchOffsets({ groupId: `stack-test-${run}`, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    assert.equal(ends.reduce((sum, p) => sum + Number(p.high), 0), messages.length);
    for (const end of ends) {
      const c = committed!.partitions.find((p) => p.partition === end.partition);
      assert.equal(Number(end.high) === 0 ? '-1' : c?.offset, Number(end.high) === 0 ? c?.offset : end.high, `partition ${end.partition}`);
    }
  });
});

describe('schema registry (@kafkajs/confluent-schema-registry against Apicurio ccompat v7)', () => {
  const registry = new SchemaRegistry({ host: ep.registryUrl });
  const subject = `stack-test.${run}-value`;
  const v1 = {
    type: 'record',
    name: 'Lead',
    namespace: 'leadrouter.test',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'score', type: 'int' },
    ],
  };
  let v1Id = 0;
  after(async () => {
    await fetch(`${ep.registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' }).catch(() => undefined);
  });

  test('registers an Avro schema and round-trips a record', async () => {
    ({ id: v1Id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject }));
    assert.ok(Number.isInteger(v1Id) && v1Id > 0);
    const lead = { id: `lead-${run}`, score: 42 };
    const buf = await registry.encode(v1Id, lead);
    assert.equal(buf[0], 0, 'Confluent wire format magic byte');
    assert.equal(buf.readInt32BE(1), v1Id, 'schema id in the header');
    assert.deepEqual({ ...(await registry.decode(buf)) }, lead);
    assert.equal(await registry.getLatestSchemaId(subject), v1Id);
  });

  test('BACKWARD per subject: incompatible change rejected, added field with default accepted', async () => {
    const put = await fetch(`${ep.registryUrl}/config/${encodeURIComponent(subject)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ compatibility: 'BACKWARD' }),
    });
    assert.equal(put.status, 200, await put.text());
    const got = (await (await fetch(`${ep.registryUrl}/config/${encodeURIComponent(subject)}`)).json()) as Record<string, string>;
    assert.equal(got.compatibilityLevel ?? got.compatibility, 'BACKWARD');

    const incompatible = { ...v1, fields: [...v1.fields, { name: 'region', type: 'string' }] }; // new field, no default
    await assert.rejects(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
      (err: Error & { status?: number }) => {
        assert.equal(err.status, 409, `expected 409 Conflict, got ${err.status}: ${err.message}`);
        return true;
      },
    );
    assert.equal(await registry.getLatestSchemaId(subject), v1Id, 'rejected schema must not become latest');

    const compatible = { ...v1, fields: [...v1.fields, { name: 'region', type: 'string', default: 'unknown' }] };
    const { id: v2Id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(compatible) }, { subject });
    assert.notEqual(v2Id, v1Id);
    assert.equal(await registry.getLatestSchemaId(subject), v2Id);

    // a v1 record still decodes; a v2 record carries the new field
    assert.deepEqual({ ...(await registry.decode(await registry.encode(v1Id, { id: 'a', score: 1 }))) }, { id: 'a', score: 1 });
    assert.deepEqual(
      { ...(await registry.decode(await registry.encode(v2Id, { id: 'b', score: 2, region: 'eu' }))) },
      { id: 'b', score: 2, region: 'eu' },
    );
  });
});

describe('mongodb driver against FerretDB', () => {
  const client = new MongoClient(ep.mongoUrl, { serverSelectionTimeoutMS: 5000 });
  const dbName = `stack_test_${run.replace(/-/g, '_')}`;
  after(async () => {
    await client.db(dbName).dropDatabase().catch(() => undefined);
    await client.close();
  });

  test('bulkWrite upsert + $push, find back, createIndex', async () => {
    await client.connect();
    const col = client.db(dbName).collection<{ _id: string; events: string[]; n: number }>('leads');
    const r1 = await col.bulkWrite(
      [
        { updateOne: { filter: { _id: 'a' }, update: { $push: { events: 'created' }, $inc: { n: 1 } }, upsert: true } },
        { updateOne: { filter: { _id: 'b' }, update: { $push: { events: 'created' }, $inc: { n: 1 } }, upsert: true } },
      ],
      { ordered: true },
    );
    assert.equal(r1.upsertedCount, 2);
    const r2 = await col.bulkWrite([
      { updateOne: { filter: { _id: 'a' }, update: { $push: { events: 'routed' }, $inc: { n: 1 } }, upsert: true } },
    ]);
    assert.equal(r2.upsertedCount, 0);
    assert.equal(r2.modifiedCount, 1);

    assert.deepEqual(await col.findOne({ _id: 'a' }), { _id: 'a', events: ['created', 'routed'], n: 2 });
    assert.deepEqual(await col.find({}).sort({ _id: 1 }).toArray(), [
      { _id: 'a', events: ['created', 'routed'], n: 2 },
      { _id: 'b', events: ['created'], n: 1 },
    ]);

    const name = await col.createIndex({ n: 1, _id: 1 }, { name: 'n_id' });
    assert.equal(name, 'n_id');
    const idx = await col.indexes();
    assert.ok(idx.some((i) => i.name === 'n_id'), `indexes: ${JSON.stringify(idx)}`);
  });
});

describe('@elastic/elasticsearch against Elasticsearch 8.19', () => {
  const es = new EsClient({ node: ep.esUrl });
  const index = `stack-test-${run}`;
  after(async () => {
    await es.indices.delete({ index }, { ignore: [404] }).catch(() => undefined);
    await es.close();
  });

  test('bulk index with explicit _id is idempotent; search finds the doc', async () => {
    // (the integ-test-zip has no rest-root module: GET / — es.info() / es.ping() — answers 405; use node info)
    const nodes = await es.nodes.info({ node_id: '_local' });
    assert.match(Object.values(nodes.nodes)[0]?.version ?? '', /^8\.19\./);
    const health = await es.cluster.health();
    assert.ok(['green', 'yellow'].includes(health.status), `cluster health ${health.status}`);

    const doc = { leadId: 'lead-1', name: 'Ada Lovelace', city: 'London' };
    for (let round = 0; round < 2; round++) {
      const r = await es.bulk({ refresh: 'wait_for', operations: [{ index: { _index: index, _id: 'lead-1' } }, doc] });
      assert.equal(r.errors, false, JSON.stringify(r.items));
      assert.equal(r.items[0]?.index?.result, round === 0 ? 'created' : 'updated');
    }
    assert.equal((await es.count({ index })).count, 1);

    const hits = await es.search<typeof doc>({ index, query: { match: { name: 'lovelace' } } });
    assert.equal(hits.hits.hits.length, 1);
    assert.equal(hits.hits.hits[0]?._id, 'lead-1');
    assert.deepEqual(hits.hits.hits[0]?._source, doc);

    const none = await es.search({ index, query: { match: { name: 'babbage' } } });
    assert.equal(none.hits.hits.length, 0);
  });
});
