/**
 * A backlog never wedges a stage. Enrich is down while leads keep arriving; when it starts it
 * faces thousands of leads at once, and what it produces from one fetch is far more than the
 * broker takes in one request (here the topics' max.message.bytes is 64 KB, so a few hundred
 * leads are enough). Before produce was bounded this crashed enrich on every restart
 * (MESSAGE_TOO_LARGE); now every lead must reach the buyer, and the history must be rebuilt
 * from leads.events exactly as the history sink wrote it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { EVENTS_COLLECTION, openHistoryStore } from '../../src/history/store.js';
import { rebuildHistory } from '../../src/history/rebuild.js';
import { postLead, startHarness, waitUntil, type Harness } from './harness.js';
import { usLeadBody } from '../support/fixtures.js';

let h: Harness;
before(async () => {
  h = await startHarness('backlog', { env: { TOPIC_MAX_MESSAGE_BYTES: '65536', INGEST_BATCH_MAX: '200' } });
});
after(async () => {
  await h?.close();
});

const LEADS = 1200;

test(`${LEADS} leads waiting for enrich, at a 64 KB broker limit: enrich starts, splits what it produces, and every lead is delivered`, { timeout: 300_000 }, async () => {
  const front = await h.spawnRouter(['ingest', 'route', 'sink-primary', 'sink-history']);
  const ids: string[] = [];
  for (let i = 0; i < LEADS; i += 40) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(40, LEADS - i) }, (_, j) =>
        postLead(front.ingestUrl!, usLeadBody({ vendorLeadId: `backlog-${i + j}`, phone: `+1415${String(2000000 + i + j)}`, jobTitle: `Warehouse associate ${'x'.repeat(150)} ${i + j}` })),
      ),
    );
    for (const r of batch) {
      assert.equal(r.status, 202, JSON.stringify(r.json));
      ids.push(r.json.leadId as string);
    }
  }
  // Now enrich starts, with the whole backlog in front of it.
  const enrich = await h.spawnRouter(['enrich']);
  const delivered = () => new Set(h.sandbox.buyerUs.received.filter((r) => r.accepted).map((r) => r.leadId));
  await waitUntil('every lead of the backlog accepted by the buyer', () => ids.every((id) => delivered().has(id)), 180_000, 500);
  assert.equal(enrich.child.exitCode, null, 'enrich is still running: no crash on the backlog');

  // History: what the sink wrote equals what a rebuild from leads.events writes.
  const config = loadConfig(h.env);
  const store = await openHistoryStore(config.env.MONGO_URL, { ttlDays: 180 });
  const count = () => store.db.collection(EVENTS_COLLECTION).countDocuments({});
  let last = -1;
  await waitUntil('the history sink to catch up', async () => {
    const n = await count();
    const settled = n === last && n >= ids.length * 4; // received, enriched, routed, delivered each
    last = n;
    return settled;
  }, 120_000, 2000);
  const written = new Set((await store.db.collection(EVENTS_COLLECTION).find({}, { projection: { _id: 1 }, batchSize: 100_000 }).toArray()).map((d) => String(d._id)));
  const r = await rebuildHistory(config, pino({ level: 'silent' }), { fresh: true, collection: 'lead_events_rebuilt' });
  const rebuilt = new Set((await store.db.collection('lead_events_rebuilt').find({}, { projection: { _id: 1 }, batchSize: 100_000 }).toArray()).map((d) => String(d._id)));
  await store.close();
  assert.equal(r.inserted, rebuilt.size);
  assert.deepEqual([...written].filter((id) => !rebuilt.has(id)), [], 'every event the sink wrote is rebuilt');
  assert.deepEqual([...rebuilt].filter((id) => !written.has(id)), [], 'the rebuild writes nothing the sink did not');
});
