/**
 * The SMS sent-texts store on the real MongoDB-wire server (FerretDB on PostgreSQL): the rules
 * that keep a person from being texted twice must hold there, where a conditional update is a
 * read then a write. Many processes taking over one failed intent at once: exactly one wins.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MongoClient } from 'mongodb';
import { openSentStore, type SentStore } from '../../src/sinks/sms/sent-store.js';
import { MONGO_SERVER } from './harness.js';

const clients: MongoClient[] = [];
let stores: SentStore[] = [];

before(async () => {
  const db = `sent_store_${Date.now().toString(36)}`;
  // Separate clients, as separate sink processes would have.
  for (let i = 0; i < 6; i++) clients.push(await new MongoClient(`${MONGO_SERVER}/${db}`, { maxPoolSize: 8, serverSelectionTimeoutMS: 5000 }).connect());
  stores = await Promise.all(clients.map((c) => openSentStore(c.db())));
});
after(async () => {
  await clients[0]?.db().dropDatabase().catch(() => undefined);
  await Promise.all(clients.map((c) => c.close()));
});

test('a failed intent taken over by six processes at once, twenty times: exactly one takes it each time', async () => {
  for (let round = 0; round < 20; round++) {
    const text = { leadId: `lead-${round}`, phone: `+1415555${String(round).padStart(4, '0')}`, provider: 'twilio' };
    const { intentAt } = await stores[0]!.recordIntents([text], Date.now);
    await stores[0]!.markFailed([{ ...text, intentAt }]);
    const results = await Promise.all(stores.map((s, i) => s.recordIntents([{ ...text, provider: `p${i}` }], Date.now)));
    const winners = results.filter((r) => !r.existing.has(text.leadId));
    assert.equal(winners.length, 1, `round ${round}: ${winners.length} processes took the text over`);
  }
});

test('texts tried before, in one insert: taken over when failed, recorded when missing, reported when in flight', async () => {
  const store = stores[0]!;
  const failed = { leadId: 'tried-failed', phone: '+14155559001', provider: 'eurosms' };
  const { intentAt } = await store.recordIntents([failed], Date.now);
  await store.markFailed([{ ...failed, intentAt }]);
  const inFlight = { leadId: 'tried-in-flight', phone: '+14155559002', provider: 'eurosms' };
  await store.recordIntents([inFlight], Date.now);
  const missing = { leadId: 'tried-missing', phone: '+14155559003', provider: 'eurosms' };

  const { existing, takenOverAt } = await store.recordIntents(
    [failed, inFlight, missing].map((t) => ({ ...t, provider: 'twilio' })),
    Date.now,
  );
  assert.equal(existing.has(failed.leadId), false, 'a failed intent is taken over');
  assert.ok(takenOverAt?.has(failed.leadId), 'stamped when its takeover was written');
  assert.equal(takenOverAt?.has(missing.leadId), false);
  assert.equal(existing.has(missing.leadId), false, 'a missing intent is recorded');
  assert.equal((existing.get(inFlight.leadId) as { state: string; provider: string }).state, 'sending');
  // Both are this provider's now: any other process sees them in flight.
  const again = await stores[1]!.recordIntents([failed, missing].map((t) => ({ ...t, provider: 'other' })), Date.now);
  for (const t of [failed, missing]) assert.deepEqual({ state: (again.existing.get(t.leadId) as { state: string }).state, provider: (again.existing.get(t.leadId) as { provider: string }).provider }, { state: 'sending', provider: 'twilio' });
});

test('a withdrawn intent (never sent) is gone with its phone claim, only if it was still ours; the next owner records it as new', async () => {
  const store = stores[0]!;
  const text = { leadId: 'withdrawn', phone: '+14155559101', provider: 'twilio' };
  assert.equal((await store.claimPhones([text], Date.now(), 60_000)).size, 0);
  const { intentAt } = await store.recordIntents([text], Date.now);
  // Another owner's stamp is not ours: nothing is removed.
  await store.withdraw([{ ...text, intentAt: intentAt - 1 }]);
  assert.equal((await stores[1]!.recordIntents([{ ...text, provider: 'other' }], Date.now)).existing.get(text.leadId) !== undefined, true, 'still in flight');
  await store.withdraw([{ ...text, intentAt }]);
  // The phone is free for another lead, and the next owner's intent is a plain new one.
  assert.equal((await stores[2]!.claimPhones([{ phone: text.phone, leadId: 'someone-else' }], Date.now(), 60_000)).size, 0, 'phone claim released');
  const next = await stores[3]!.recordIntents([{ ...text, provider: 'eurosms' }], Date.now);
  assert.equal(next.existing.has(text.leadId), false, 'recorded as a new text');
  assert.equal((await stores[4]!.recordIntents([text], Date.now)).existing.get(text.leadId) !== undefined, true, 'and in flight for everyone else');
});

test('a redelivery: its own phone claim is reported as its own, and read-first intents are found, or recorded when missing', async () => {
  const store = stores[0]!;
  const had = { leadId: 'redelivered-had', phone: '+14155559201', provider: 'twilio' };
  const missing = { leadId: 'redelivered-missing', phone: '+14155559202', provider: 'twilio' };
  await store.claimPhones([had, missing], Date.now(), 60_000);
  await store.recordIntents([had], Date.now);
  const again = await stores[1]!.claimPhones([had, missing], Date.now(), 60_000);
  assert.deepEqual(Object.fromEntries(again), { [had.phone]: had.leadId, [missing.phone]: missing.leadId }, 'each phone is held by its own lead');
  const { existing } = await stores[1]!.recordIntents([had, missing], Date.now, new Set([had.leadId, missing.leadId]));
  assert.equal((existing.get(had.leadId) as { state: string }).state, 'sending', 'the recorded one is found');
  assert.equal(existing.has(missing.leadId), false, 'the missing one is recorded now');
  assert.equal((await stores[2]!.recordIntents([missing], Date.now)).existing.has(missing.leadId), true);
});

test('an abandoned job stops reading a redelivery before writing anything: the next owner finds the texts as they were', async () => {
  const store = stores[0]!;
  const texts = Array.from({ length: 3 }, (_, i) => ({ leadId: `abandoned-${i}`, phone: `+1415555930${i}`, provider: 'twilio' }));
  await store.claimPhones(texts, Date.now(), 60_000);
  const { intentAt } = await store.recordIntents(texts.slice(0, 1), Date.now);
  // The survivor of a kill, whose partitions are taken away again while it reads.
  const stop = () => true;
  await assert.rejects(stores[1]!.claimPhones(texts, Date.now(), 60_000, stop), (err: Error) => err.name === 'Abandoned');
  await assert.rejects(
    stores[1]!.recordIntents(texts, Date.now, new Set(texts.map((t) => t.leadId)), stop),
    (err: Error) => err.name === 'Abandoned',
  );
  // Its next owner: the phones are still the leads' own, the one intent is as it was, and the
  // two texts never recorded are new (nothing half-written by the abandoned call).
  const held = await stores[2]!.claimPhones(texts, Date.now(), 60_000);
  assert.deepEqual(Object.fromEntries(held), Object.fromEntries(texts.map((t) => [t.phone, t.leadId])));
  const { existing } = await stores[2]!.recordIntents(texts, Date.now, new Set(texts.map((t) => t.leadId)));
  assert.deepEqual([...existing.keys()], [texts[0]!.leadId]);
  assert.equal((existing.get(texts[0]!.leadId) as { intentAt: number }).intentAt, intentAt);
});
