/**
 * A delivery whose batch is abandoned (its group rebalances, or its consumer crashed and a new
 * member may already own its partitions) starts nothing new: no further text, no further offer
 * to a buyer. What it did is recorded before it throws Abandoned, and the phones of its leads stay
 * claimed by them, so a next owner working the same leads at the same time texts nobody twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Abandoned } from '../../src/errors.js';
import { createSmsSink } from '../../src/sinks/sms/sms-sink.js';
import { ProviderCircuit } from '../../src/sinks/sms/breaker.js';
import type { SmsAdapter } from '../../src/sinks/sms/adapters/adapter.js';
import type { SentStore } from '../../src/sinks/sms/sent-store.js';
import { createDistributionSink } from '../../src/sinks/primary/distribution-sink.js';
import type { BuyerClient } from '../../src/sinks/primary/buyer-client.js';
import { distributionSchema } from '../../src/distribution/buyer-schema.js';
import type { LeadEvent } from '../../src/lead.js';
import { enrichment, leadEvent } from '../support/fixtures.js';
import { memorySentStore } from '../support/memory-sent-store.js';
import { memoryStores } from '../support/memory-distribution.js';

/** A promise with its resolve, to hold a fake store or buyer until the test lets it answer. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

async function eventually(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A provider that takes every text and records whom it texted. */
function recordingProvider() {
  const calls: string[] = [];
  const adapter: SmsAdapter = {
    kind: 'twilio',
    send: async (m) => (calls.push(m.to), { ok: true, providerMessageId: `SM-${calls.length}` }),
    lookup: async () => ({ found: false }),
    close: async () => {},
  };
  return { adapter, calls };
}

/** An SMS sink for one provider, open at every hour, over the given store. */
function smsSink(adapter: SmsAdapter, sent: SentStore) {
  return createSmsSink({
    provider: 'twilio',
    adapter,
    adapterFor: () => adapter,
    compose: () => 'hello',
    optOuts: { isOptedOut: () => false, readable: () => true },
    sent,
    circuit: new ProviderCircuit(100, 1000, Date.now),
    quietHours: { US: { start: '00:00', end: '24:00' }, UK: { start: '00:00', end: '24:00' } } as never,
    dedupWindowMs: 86_400_000,
    now: Date.now,
  });
}

test('SMS: a job abandoned while its store is slow sends nothing, withdraws its intents, keeps its phones, and the next owner texts each person once', async () => {
  const { adapter, calls } = recordingProvider();
  const store = memorySentStore();
  const slowStore = gate();
  const sent = { ...store.store, recordIntents: async (...args: Parameters<typeof store.store.recordIntents>) => (await slowStore.opened, store.store.recordIntents(...args)) };
  const make = () => smsSink(adapter, sent);
  let n = 0;
  const leads: LeadEvent[] = [1, 2, 3].map(() =>
    leadEvent({
      leadId: `lead-abandoned-${++n}`,
      enrichment: enrichment({ phone: { e164: `+1415555020${n}`, type: 'MOBILE', valid: true, country: 'US', reason: null } }),
      delivery: { destination: 'sms:twilio', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] },
    }),
  );

  let rebalancing = false;
  const job = make().deliver(leads, { abandoned: () => rebalancing });
  await eventually('the job is recording its intents', () => store.phones.size === 3);
  rebalancing = true;
  slowStore.open();
  await assert.rejects(job, Abandoned);
  assert.equal(store.intents.size, 0, 'its intents withdrawn: the next owner records them as new texts');
  assert.equal(calls.length, 0, 'nothing sent once abandoned');
  assert.equal(store.phones.size, 3, 'its leads keep their phones: another owner may be texting them right now');

  rebalancing = false;
  const out = await make().deliver(leads, { abandoned: () => rebalancing });
  assert.deepEqual(out.map((o) => o.status), ['delivered', 'delivered', 'delivered']);
  assert.equal(new Set(calls).size, 3);
  assert.equal(calls.length, 3, 'each person texted exactly once');
});

test('SMS: two owners of one lead at once (a crashed consumer\'s job still running): the abandoned one keeps the phone claimed, so the person\'s second lead is not texted', async () => {
  const { adapter, calls } = recordingProvider();
  const store = memorySentStore();
  const sinkOver = (sent: SentStore) => smsSink(adapter, sent);
  const person = '+14155550299';
  const [a, b] = ['lead-person-a', 'lead-person-b'].map((leadId) =>
    leadEvent({ leadId, enrichment: enrichment({ phone: { e164: person, type: 'MOBILE', valid: true, country: 'US', reason: null } }), delivery: { destination: 'sms:twilio', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] } }),
  ) as [LeadEvent, LeadEvent];

  // The first owner: its intents wait on a slow store, and its withdrawal stops between the
  // intent and the phone, where the second owner's whole job fits on a loaded machine (chaos at
  // 3b828c8, where abandoned jobs finished in the background: 6 people texted twice this way).
  const intents = gate();
  const beforePhone = gate();
  const first = sinkOver({
    ...store.store,
    recordIntents: async (...args) => (await intents.opened, store.store.recordIntents(...args)),
    withdraw: (list, release) => store.store.withdraw(list, async (free) => ((withdrawing = true), await beforePhone.opened, release ? release(free) : free())),
  });
  let withdrawing = false;
  let crashed = false;
  const job = first.deliver([a], { abandoned: () => crashed });
  await eventually('the first owner claimed the phone', () => store.phones.size === 1);
  crashed = true;
  intents.open();
  await eventually('its unsent intent is withdrawn', () => withdrawing);
  assert.equal(store.intents.size, 0);

  // Meanwhile the lead's next owner texts it.
  assert.deepEqual((await sinkOver(store.store).deliver([a])).map((o) => o.status), ['delivered']);
  beforePhone.open();
  await assert.rejects(job, Abandoned);
  assert.equal(store.phones.get(person)?.leadId, a.leadId, 'the phone still belongs to the lead that was texted');

  // The same person again through another vendor's lead: within the dedup window, not texted.
  const second = await sinkOver(store.store).deliver([b]);
  assert.equal(second[0]?.status, 'skipped');
  assert.equal(calls.length, 1, 'the person was texted once');
});

test('buyers: a batch abandoned while waiting for a buyer offers no further lead and ends with Abandoned', async () => {
  const posted: string[] = [];
  const buyerAnswers = gate();
  const client: BuyerClient = {
    async post(_endpoint, id) {
      posted.push(id);
      await buyerAnswers.opened;
      return { ok: true, status: 200, contentType: 'application/json', body: '{"accepted":true}', elapsedMs: 1 };
    },
    close: async () => {},
  };
  // One request at a time to this buyer: the other leads wait for its slot.
  const primary = distributionSchema.parse({ buyers: { slow: { url: 'http://127.0.0.1:9/leads', concurrency: 1 } }, groups: {} });
  const sink = createDistributionSink({ primary: () => primary, reload() {}, policy: { baseDelayMs: 1000, maxDelayMs: 10_000, maxAttempts: 4, maxAgeMs: 600_000 }, stores: async () => memoryStores(), now: Date.now, log: { warn() {}, info() {} }, client });
  let n = 0;
  const leads = [1, 2, 3].map(() => leadEvent({ leadId: `0190c0de-0000-7000-8000-${String(++n).padStart(12, '0')}`, delivery: { destination: 'primary:slow', rule: 'r1', attempt: 0, firstAttemptAt: Date.now(), nextAttemptAt: null, lastError: null, fallbacks: [] } }));

  let rebalancing = false;
  const job = sink.deliver(leads, { abandoned: () => rebalancing });
  await eventually('the first lead is being offered', () => posted.length === 1);
  rebalancing = true;
  buyerAnswers.open();
  await assert.rejects(job, Abandoned);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(posted.length, 1, 'the leads waiting for the slot were not offered: their next owner offers them');
});
