/**
 * The whole path through real Kafka, registry, MongoDB and Elasticsearch, with one router
 * process running every role: a lead POSTed reaches every destination its route requires.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@elastic/elasticsearch';
import kafkajs from '../../src/kafka/kafkajs.js';
import { ES_URL, BROKERS, OPERATOR_HEADERS, postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';
import { ukLeadBody, usLeadBody } from '../support/fixtures.js';

const { Kafka, logLevel } = kafkajs;

let h: Harness;
let router: RouterProcess;
let ingest: string;

before(async () => {
  h = await startHarness('pipeline');
  router = await h.spawnRouter(['all']);
  ingest = router.ingestUrl!;
});
after(async () => {
  await h?.close();
});

const acceptedBy = (server: { received: { leadId: string | null; accepted: boolean }[] }, leadId: string) =>
  server.received.some((r) => r.leadId === leadId && r.accepted);

type HistoryEvent = { type: string; stage?: string; destination?: string; attempt?: number; detail?: string };
async function history(leadId: string, until: (types: string[], events: HistoryEvent[]) => boolean) {
  return waitUntil(`history of ${leadId}`, async () => {
    const res = await fetch(`${ingest}/v1/leads/${leadId}`, { headers: OPERATOR_HEADERS });
    if (res.status !== 200) return null;
    const doc = (await res.json()) as { events: HistoryEvent[] };
    return until(doc.events.map((e) => e.type), doc.events) ? doc : null;
  });
}

test('a US lead reaches the US buyer, the US SMS provider and the search index; every topic decodes through the registry', async () => {
  const res = await postLead(ingest, usLeadBody({ vendorLeadId: `pipe-${Date.now()}` }));
  assert.equal(res.status, 202);
  const leadId = res.json.leadId as string;

  await waitUntil('US buyer to accept it', () => acceptedBy(h.sandbox.buyerUs, leadId));
  await waitUntil('Twilio sandbox to accept the text', () => acceptedBy(h.sandbox.twilio, leadId));
  assert.ok(!acceptedBy(h.sandbox.buyerUk, leadId), 'not sent to the UK buyer');
  assert.ok(!acceptedBy(h.sandbox.jsonSms, leadId), 'not texted by the fallback provider');

  const es = new Client({ node: ES_URL });
  const doc = await waitUntil('the search document', async () => {
    const r = await es.get({ index: h.searchIndex, id: leadId }).catch(() => null);
    return r?.found ? (r._source as Record<string, unknown>) : null;
  });
  assert.equal(doc.leadId, leadId);
  assert.equal(doc.phone, '+14155550132');
  await es.close();

  // A data team's consumer, decoding Avro through the registry, sees the lead on every hop.
  const t = h.topology.topics;
  for (const topic of [t.raw, t.enriched, t.primary, t.sms.twilio!, t.search]) {
    const reader = await h.reader(topic);
    const event = await reader.waitFor((e) => e.leadId === leadId, 30_000, `${leadId} on ${topic}`);
    assert.equal(event.email, 'jane.doe@example.com');
    if (topic !== t.raw) assert.equal(event.enrichment?.phone.e164, '+14155550132', topic);
    if (topic === t.primary) assert.equal(event.delivery?.destination, 'primary:buyer-us');
  }

  const hist = await history(leadId, (types) => types.filter((x) => x === 'delivered').length >= 3);
  const types = hist.events.map((e) => e.type);
  for (const type of ['received', 'enriched', 'routed']) assert.ok(types.includes(type), `history has ${type}: ${types.join(',')}`);
  assert.deepEqual(
    hist.events.filter((e) => e.type === 'delivered').map((e) => e.destination).sort(),
    ['primary:buyer-us', `search:${h.searchIndex}`, 'sms:twilio'],
  );
});

test('a UK lead takes the UK path: the UK buyer and the UK-capable SMS provider only', async () => {
  const res = await postLead(ingest, ukLeadBody({ country: 'UK' }));
  assert.equal(res.status, 202);
  const leadId = res.json.leadId as string;
  await waitUntil('UK buyer to accept it', () => acceptedBy(h.sandbox.buyerUk, leadId));
  await waitUntil('the UK SMS provider to accept it', () => acceptedBy(h.sandbox.jsonSms, leadId));
  assert.ok(!acceptedBy(h.sandbox.buyerUs, leadId));
  assert.ok(!acceptedBy(h.sandbox.twilio, leadId));
});

test('a self-referential lead lands in leads.rejected with the reason, and goes nowhere else', async () => {
  const res = await postLead(ingest, usLeadBody({ source: 'lead-router' }));
  assert.equal(res.status, 202);
  const leadId = res.json.leadId as string;
  const rejected = await (await h.reader(h.topology.topics.rejected)).waitFor((e) => e.leadId === leadId);
  assert.match(rejected.rejection?.reason ?? '', /loop guard: source "lead-router"/);
  await history(leadId, (types) => types.includes('rejected'));
  assert.ok(!h.sandbox.buyerUs.received.some((r) => r.leadId === leadId));
});

test('a 200 with a malformed body sends the lead to leads.backup; it is delivered once the buyer is healthy', async () => {
  h.sandbox.buyerUs.setMode('malformed');
  const backup = await h.reader(h.topology.topics.backup);
  const res = await postLead(ingest, usLeadBody());
  const leadId = res.json.leadId as string;
  const retry = await backup.waitFor((e) => e.leadId === leadId && e.delivery?.destination === 'primary:buyer-us');
  assert.equal(retry.delivery?.attempt, 1);
  assert.match(retry.delivery?.lastError ?? '', /not JSON/);
  assert.ok((retry.delivery?.nextAttemptAt ?? 0) > retry.delivery!.firstAttemptAt);
  assert.ok(!acceptedBy(h.sandbox.buyerUs, leadId));

  h.sandbox.buyerUs.setMode('healthy');
  await waitUntil('the retried lead to reach the buyer', () => acceptedBy(h.sandbox.buyerUs, leadId));
  const primaryDelivered = (e: { type: string; destination?: string }) => e.type === 'delivered' && e.destination === 'primary:buyer-us';
  const hist = await history(leadId, (_types, events) => events.some((e) => e.type === 'retried') && events.some(primaryDelivered));
  const delivered = hist.events.find(primaryDelivered);
  assert.ok((delivered?.attempt ?? 0) >= 1, 'delivered by a retry, not the first attempt');
  assert.equal(delivered?.stage, 'sink-primary.retry', 'retries come through the retry lane, not leads.primary');
});

test('a lead that keeps failing ends in leads.dlq with its reason', async () => {
  h.sandbox.buyerUk.setMode('error500');
  try {
    const dlq = await h.reader(h.topology.topics.dlq);
    const res = await postLead(ingest, ukLeadBody());
    const leadId = res.json.leadId as string;
    const dead = await dlq.waitFor((e) => e.leadId === leadId, 60_000);
    assert.equal(dead.delivery?.destination, 'primary:buyer-uk');
    assert.match(dead.deadLetter?.reason ?? '', /gave up after 4 attempts; last error: HTTP 500/);
    assert.equal(dead.deadLetter?.stage, 'sink-primary.retry', 'the backup stage put it on leads.retry.primary; the sink\'s retry stage gave up on its last attempt');
    const attempts = h.sandbox.buyerUk.received.filter((r) => r.path === '/leads' && JSON.parse(r.body).leadId === leadId).length;
    assert.equal(attempts, 4, 'first attempt plus three retries');
    await history(leadId, (types) => types.includes('dead'));
  } finally {
    h.sandbox.buyerUk.setMode('healthy');
  }
});

test('a poison message is dead-lettered with its reason and the stage goes on', async () => {
  const kafka = new Kafka({ clientId: 'poison-test', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: h.topology.topics.raw, messages: [{ key: 'poison', value: Buffer.from('{"not":"avro"}') }] });
  await producer.disconnect();
  const poison = await h.reader(h.topology.topics.poison);
  const record = await waitUntil('the poison record', () => poison.raw.find((r) => r.value?.toString() === '{"not":"avro"}'));
  assert.match(record.headers['x-dead-reason'] ?? '', /Confluent wire format/);
  assert.equal(record.headers['x-original-topic'], h.topology.topics.raw);

  const res = await postLead(ingest, usLeadBody());
  await waitUntil('a lead after the poison one to be delivered', () => acceptedBy(h.sandbox.buyerUs, res.json.leadId));
});

test('bad requests get the documented 4xx over real HTTP', async () => {
  const missing = await postLead(ingest, usLeadBody({ email: 'not-an-email', zip: undefined }));
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.json.fields.map((f: { field: string }) => f.field).sort(), ['email', 'zip']);
  assert.equal((await postLead(ingest, usLeadBody({ jobTitle: 'x'.repeat(20_000) }))).status, 413);
  assert.equal((await postLead(ingest, 'first=jane', 'text/plain')).status, 415);
  assert.equal((await fetch(`${ingest}/readyz`)).status, 200);
  assert.equal((await fetch(`${ingest}/v1/leads/00000000-0000-7000-8000-000000000000`, { headers: OPERATOR_HEADERS })).status, 404);
  assert.equal((await fetch(`${ingest}/v1/leads/00000000-0000-7000-8000-000000000000`)).status, 401, 'history needs a credential');
});
