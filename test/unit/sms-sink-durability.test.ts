/**
 * The SMS sink never texts anyone twice (providers do not de-duplicate): an intent is recorded
 * before the call and the outcome after it, and a lead that comes back is resolved from those
 * records, asking the provider when its earlier call's outcome was never learned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSmsSink } from '../../src/sinks/sms/sms-sink.js';
import { ProviderCircuit } from '../../src/sinks/sms/breaker.js';
import type { SentStore } from '../../src/sinks/sms/sent-store.js';
import type { SmsAdapter, SmsLookupResult, SmsSendResult } from '../../src/sinks/sms/adapters/adapter.js';
import type { LeadEvent } from '../../src/lead.js';
import { Abandoned, RetriableError } from '../../src/errors.js';
import { enrichment, leadEvent } from '../support/fixtures.js';
import { memorySentStore } from '../support/memory-sent-store.js';

const OPEN = { US: { start: '00:00', end: '24:00' }, UK: { start: '00:00', end: '24:00' } } as never;

function fakeProvider(answer: () => SmsSendResult = () => ({ ok: true, providerMessageId: `SM${Math.random()}` }), lookup: () => SmsLookupResult = () => ({ found: false })) {
  const calls: string[] = [];
  const adapter: SmsAdapter = {
    kind: 'twilio',
    send: async (m) => (calls.push(m.to), answer()),
    lookup: async () => lookup(),
    close: async () => {},
  };
  return { adapter, calls };
}

function sink(adapter: SmsAdapter, store = memorySentStore(), opts: { now?: () => number; readable?: () => boolean; circuit?: ProviderCircuit } = {}) {
  return {
    store,
    sink: createSmsSink({
      provider: 'twilio',
      adapter,
      adapterFor: () => adapter,
      compose: () => 'hello',
      optOuts: { isOptedOut: () => false, readable: opts.readable ?? (() => true) },
      sent: store.store,
      circuit: opts.circuit ?? new ProviderCircuit(100, 1000, Date.now),
      quietHours: OPEN,
      dedupWindowMs: 86_400_000,
      now: opts.now ?? Date.now,
    }),
  };
}

let seq = 0;
const lead = (phone = `+1415555${String(1000 + seq++).padStart(4, '0')}`, fallbacks: string[] = []): LeadEvent =>
  leadEvent({
    leadId: `lead-${seq++}`,
    enrichment: enrichment({ phone: { e164: phone, type: 'MOBILE', valid: true, country: 'US', reason: null } }),
    delivery: { destination: 'sms:twilio', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks },
  });

test('a redelivered lead that was texted is delivered again without a second text', async () => {
  const p = fakeProvider();
  const { sink: s } = sink(p.adapter);
  const l = lead();
  assert.equal((await s.deliver([l]))[0]?.status, 'delivered');
  const again = await s.deliver([l]);
  assert.equal(again[0]?.status, 'delivered');
  assert.match((again[0] as { detail: string }).detail, /already texted/);
  assert.equal(p.calls.length, 1);
});

test('a text whose outcome was never learned (crash mid-call) is looked up, not re-sent: found → delivered', async () => {
  let t = 1_000_000;
  const p = fakeProvider(undefined, () => ({ found: true, providerMessageId: 'SM-earlier' }));
  const store = memorySentStore();
  const l = lead();
  // The earlier process recorded the intent and died before the answer.
  await store.store.claimPhones([{ phone: l.enrichment!.phone.e164!, leadId: l.leadId }], t, 86_400_000);
  await store.store.recordIntents([{ leadId: l.leadId, phone: l.enrichment!.phone.e164!, provider: 'twilio' }], () => t);
  t += 5_000;
  const { sink: s } = sink(p.adapter, store, { now: () => t });
  const wait = (await s.deliver([l]))[0] as { status: string; until: number };
  assert.equal(wait.status, 'defer', 'a fresh intent may still be in flight elsewhere: wait, without using up an attempt');
  assert.equal(wait.until, t - 5_000 + 31_000, 'until that call is surely over');
  t += 60_000;
  const out = await s.deliver([l]);
  assert.equal(out[0]?.status, 'delivered');
  assert.match((out[0] as { detail: string }).detail, /confirmed by lookup/);
  assert.equal(p.calls.length, 0, 'never sent blind');
  assert.equal(store.sent.get(l.leadId)?.providerMessageId, 'SM-earlier');
});

test('... not found → trusted only 2 minutes after the intent, then sent once; cannot tell → retry, nothing sent', async () => {
  let t = 2_000_000;
  const intentAt = t;
  let lookup: SmsLookupResult = { found: 'unknown', reason: 'provider down' };
  const p = fakeProvider(undefined, () => lookup);
  const store = memorySentStore();
  const l = lead();
  await store.store.claimPhones([{ phone: l.enrichment!.phone.e164!, leadId: l.leadId }], t, 86_400_000);
  await store.store.recordIntents([{ leadId: l.leadId, phone: l.enrichment!.phone.e164!, provider: 'twilio' }], () => t);
  t += 60_000;
  const { sink: s } = sink(p.adapter, store, { now: () => t });
  assert.equal((await s.deliver([l]))[0]?.status, 'retry');
  assert.equal(p.calls.length, 0);
  lookup = { found: false };
  const early = (await s.deliver([l]))[0] as { status: string; until: number; reason: string };
  assert.equal(early.status, 'defer', 'not found 60 s after the intent: the timed-out request may still land');
  assert.equal(early.until, intentAt + 121_000);
  assert.match(early.reason, /no record of the earlier attempt yet/);
  assert.equal(store.intents.get(l.leadId)?.state, 'sending', 'not marked failed yet');
  t = early.until;
  assert.equal((await s.deliver([l]))[0]?.status, 'defer', 'confirmed not sent: marked failed, sent on the next pass');
  assert.equal((await s.deliver([l]))[0]?.status, 'delivered');
  assert.equal(p.calls.length, 1);
});

test('a timed-out text the provider takes late is found by the later lookup: never sent twice', async () => {
  // Chaos, three brokers (75d9e29): the provider took timed-out requests 48 s after their
  // intents; a lookup at 30 s found nothing and 9 people were texted twice.
  let t = 3_000_000;
  let providerHas: string | null = null;
  const p = fakeProvider(undefined, () => (providerHas ? { found: true, providerMessageId: providerHas } : { found: false }));
  const store = memorySentStore();
  const l = lead();
  await store.store.claimPhones([{ phone: l.enrichment!.phone.e164!, leadId: l.leadId }], t, 86_400_000);
  await store.store.recordIntents([{ leadId: l.leadId, phone: l.enrichment!.phone.e164!, provider: 'twilio' }], () => t);
  const { sink: s } = sink(p.adapter, store, { now: () => t });
  t += 31_000;
  assert.equal((await s.deliver([l]))[0]?.status, 'defer', 'not found yet');
  t += 17_000;
  providerHas = 'SM-late'; // the request that timed out at our end reaches the provider now
  t += 75_000;
  const out = (await s.deliver([l]))[0] as { status: string; detail: string };
  assert.equal(out.status, 'delivered');
  assert.match(out.detail, /confirmed by lookup/);
  assert.equal(p.calls.length, 0, 'the person has one text: the late one');
});

test('a certain failure falls back to the next provider; an uncertain one waits for a lookup instead', async () => {
  const certain = fakeProvider(() => ({ ok: false, retriable: true, uncertain: false, error: 'http 503' }));
  const a = sink(certain.adapter);
  const l1 = lead(undefined, ['sms:eurosms']);
  assert.equal((await a.sink.deliver([l1]))[0]?.status, 'fallback');
  assert.equal(a.store.intents.has(l1.leadId), false, 'withdrawn: the next provider records it as a new text');
  assert.equal(a.store.phones.has(l1.enrichment!.phone.e164!), false, 'and claims the phone afresh');
  const uncertain = fakeProvider(() => ({ ok: false, retriable: true, uncertain: true, error: 'timeout after 5000 ms' }));
  const b = sink(uncertain.adapter);
  const l2 = lead(undefined, ['sms:eurosms']);
  assert.equal((await b.sink.deliver([l2]))[0]?.status, 'retry', 'no fallback: the provider may have it');
  assert.equal(b.store.intents.get(l2.leadId)?.state, 'sending');
});

test('one person, one text: a second lead for the same phone is a duplicate, in the batch and later', async () => {
  const p = fakeProvider();
  const { sink: s } = sink(p.adapter);
  const phone = '+14155559999';
  const out = await s.deliver([lead(phone), lead(phone)]);
  assert.deepEqual(out.map((o) => o.status), ['delivered', 'skipped']);
  assert.equal((await s.deliver([lead(phone)]))[0]?.status, 'skipped');
  assert.equal(p.calls.length, 1);
});

test('no texting while the opt-out list cannot be read: the batch waits (RetriableError)', async () => {
  const p = fakeProvider();
  const { sink: s } = sink(p.adapter, memorySentStore(), { readable: () => false });
  await assert.rejects(s.deliver([lead()]), RetriableError);
  assert.equal(p.calls.length, 0);
});

test('a text held up past 15 s after its intent is not sent; its intent is withdrawn, and the retry texts it once', async () => {
  let t = 2_000_000;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  // Pacing (or a slow store) holds the call: the wrapper asks stillFresh() when it is its turn.
  const adapter: SmsAdapter = {
    kind: 'twilio',
    send: async (m) => {
      await gate;
      if (m.stillFresh && !m.stillFresh()) return { ok: false, retriable: true, uncertain: false, stale: true, error: 'stale' };
      calls.push(m.to);
      return { ok: true, providerMessageId: 'SM-1' };
    },
    lookup: async () => ({ found: false }),
    close: async () => {},
  };
  const store = memorySentStore();
  const { sink: s } = sink(adapter, store, { now: () => t });
  const l = lead();
  const first = s.deliver([l]);
  await new Promise((r) => setTimeout(r, 5));
  t += 20_000; // the call waited 20 s for its turn
  release();
  assert.equal((await first)[0]?.status, 'retry');
  assert.equal(calls.length, 0, 'nothing sent on an intent that old: another owner may be sending it');
  assert.equal(store.intents.has(l.leadId), false, 'never called: its intent withdrawn, not left for a lookup');
  t += 1_000;
  assert.equal((await s.deliver([l]))[0]?.status, 'delivered', 'recorded afresh and sent at once');
  assert.equal(calls.length, 1, 'texted exactly once');
});

test('the same lead twice in one job (redelivered upstream) is texted once, fresh or after a failed attempt', async () => {
  const p = fakeProvider();
  const { sink: s, store } = sink(p.adapter);
  const l = lead();
  assert.deepEqual((await s.deliver([l, l])).map((o) => o.status), ['delivered', 'skipped']);
  assert.equal(p.calls.length, 1);

  // A failed intent, and two copies back together: one takes it over, one text.
  const l2 = lead();
  await store.store.claimPhones([{ phone: l2.enrichment!.phone.e164!, leadId: l2.leadId }], Date.now(), 86_400_000);
  const { intentAt } = await store.store.recordIntents([{ leadId: l2.leadId, phone: l2.enrichment!.phone.e164!, provider: 'twilio' }], Date.now);
  await store.store.markFailed([{ leadId: l2.leadId, phone: l2.enrichment!.phone.e164!, provider: 'twilio', intentAt }]);
  assert.deepEqual((await s.deliver([l2, l2])).map((o) => o.status), ['delivered', 'skipped']);
  assert.equal(p.calls.length, 2);
});

test('a job told it no longer matters (rebalance) sends nothing more, records what it did, and the next owner texts the rest once', async () => {
  let rebalancing = false;
  const calls: string[] = [];
  // Pacing: each call waits for its slot and asks stillFresh() first, as the rate limiter does.
  const adapter: SmsAdapter = {
    kind: 'twilio',
    send: async (m) => {
      await new Promise((r) => setTimeout(r, 5));
      if (m.stillFresh && !m.stillFresh()) return { ok: false, retriable: true, uncertain: false, stale: true, error: 'stale' };
      calls.push(m.to);
      rebalancing = true; // the group starts rebalancing while the first text goes out
      return { ok: true, providerMessageId: `SM-${calls.length}` };
    },
    lookup: async () => ({ found: false }),
    close: async () => {},
  };
  const store = memorySentStore();
  const { sink: s } = sink(adapter, store);
  const leads = [lead(), lead(), lead()];
  await assert.rejects(s.deliver(leads, { abandoned: () => rebalancing }), Abandoned);
  assert.equal(calls.length, 1, 'the texts still waiting for their slot were not sent');
  assert.equal(store.sent.size, 1, 'the one sent is recorded as sent');
  // The two never called are withdrawn: the next owner records them as new texts, not as failed
  // ones to take over (five store calls each on FerretDB). Their phones stay claimed by their own
  // leads: the next owner may be texting them already (src/sinks/sms/sent-store-contract.ts).
  assert.deepEqual([...store.intents.keys()], [leads[0]!.leadId], 'only the sent text keeps its intent');
  assert.deepEqual([...store.phones.values()].map((p) => p.leadId), leads.map((l) => l.leadId), 'each phone still claimed by its own lead');
  // The next owner (no rebalance now): the sent one is not sent again, the others go out at once
  // (not left "sending" for a 30 s wait and a lookup).
  rebalancing = false;
  const { sink: next } = sink({ ...adapter, send: async (m) => (calls.push(m.to), { ok: true, providerMessageId: `SM-${calls.length}` }) }, store);
  const out = await next.deliver(leads);
  assert.deepEqual(out.map((o) => o.status), ['delivered', 'delivered', 'delivered']);
  assert.equal(calls.length, 3, 'each person texted exactly once');
  assert.equal(new Set(calls).size, 3);
});

test('a job abandoned before any intent writes nothing and sends nothing', async () => {
  const p = fakeProvider();
  const store = memorySentStore();
  const { sink: s } = sink(p.adapter, store);
  await assert.rejects(s.deliver([lead(), lead()], { abandoned: () => true }), Abandoned);
  assert.equal(p.calls.length, 0);
  assert.equal(store.sent.size, 0);
});

test('a slow job reports where its time went (a provider call that took 6 s), a quick one does not', async () => {
  let t = 5_000_000;
  const slow = { ms: 6_000 };
  const p = fakeProvider(() => ((t += slow.ms), { ok: true, providerMessageId: 'SM1' }));
  const reports: unknown[] = [];
  const s = createSmsSink({
    provider: 'twilio',
    adapter: p.adapter,
    adapterFor: () => p.adapter,
    compose: () => 'hello',
    optOuts: { isOptedOut: () => false, readable: () => true },
    sent: memorySentStore().store,
    circuit: new ProviderCircuit(100, 1000, Date.now),
    quietHours: OPEN,
    dedupWindowMs: 86_400_000,
    now: () => t,
    onSlowJob: (r) => reports.push(r),
  });
  await s.deliver([lead()]);
  assert.equal(reports.length, 1);
  assert.deepEqual(reports[0], { provider: 'twilio', texts: 1, claimMs: 0, intentMs: 0, sendMs: 6_000, recordMs: 0, sent: 1, redelivered: 0, lookedUp: 0, stale: 0 });
  slow.ms = 10;
  await s.deliver([lead()]);
  assert.equal(reports.length, 1, 'a quick job is not reported');
});

test('a text this process sent, redelivered (its partition came back after a rebalance), is answered without the store, as the store would', async () => {
  const p = fakeProvider(() => ({ ok: true, providerMessageId: 'SM-here' }));
  const { sink: s, store } = sink(p.adapter);
  const l = lead();
  assert.equal((await s.deliver([l]))[0]?.status, 'delivered');
  const calls: string[] = [];
  for (const name of ['claimPhones', 'recordIntents', 'markSent', 'markFailed'] as const) {
    const real = store.store[name].bind(store.store) as (...a: unknown[]) => Promise<unknown>;
    (store.store as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => (calls.push(name), real(...a));
  }
  const again = await s.deliver([l]);
  assert.deepEqual(again[0], { status: 'delivered', detail: 'already texted by twilio (message SM-here)' });
  assert.deepEqual(calls, [], 'no store call for it');
  assert.equal(p.calls.length, 1, 'texted once');
  // Another process (a sink without that memory) gets the same answer from the store.
  const other = sink(p.adapter, store).sink;
  const there = await other.deliver([l]);
  assert.deepEqual(there[0], { status: 'delivered', detail: 'already texted by twilio (message SM-here)' });
  assert.equal(p.calls.length, 1);
});

test('the memory of texts sent here keeps the most recent ones only', async () => {
  const { SentHere } = await import('../../src/sinks/sms/sent-here.js');
  const m = new SentHere(2);
  m.add('a', { provider: 'twilio', providerMessageId: '1' });
  m.add('b', { provider: 'twilio', providerMessageId: '2' });
  m.add('c', { provider: 'twilio', providerMessageId: '3' });
  assert.equal(m.get('a'), undefined);
  assert.equal(m.get('c')?.providerMessageId, '3');
  assert.equal(m.size, 2);
});

/** A lead that fell back from eurosms: its intent there was recorded at `at` and marked failed. */
async function fallbackFromEurosms(store: ReturnType<typeof memorySentStore>, at: number): Promise<LeadEvent> {
  const l = { ...lead(), delivery: { destination: 'sms:twilio', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: 'eurosms: HTTP 503', fallbacks: [] } };
  await store.store.recordIntents([{ leadId: l.leadId, phone: l.enrichment!.phone.e164!, provider: 'eurosms' }], () => at);
  await store.store.markFailed([{ leadId: l.leadId, phone: l.enrichment!.phone.e164!, provider: 'eurosms', intentAt: at }]);
  return l;
}

test('texts tried before (a fallback) are recorded apart from new ones: their slow takeover does not hold new texts past the send window', async () => {
  let t = 1_000_000;
  const p = fakeProvider();
  const store = memorySentStore();
  // The lead failed at another provider first: its intent exists, and taking it over is slow.
  const fallback = await fallbackFromEurosms(store, t);
  const calls: string[][] = [];
  const slowTakeovers = {
    ...store.store,
    recordIntents: async (list: Parameters<typeof store.store.recordIntents>[0], clock: () => number) => {
      calls.push(list.map((x) => x.leadId));
      const answer = await store.store.recordIntents(list, clock);
      if (list.some((x) => x.leadId === fallback.leadId)) {
        // The takeover's reads and writes: 20 s on the business clock, while the other group goes on.
        await new Promise((r) => setTimeout(r, 20));
        t += 20_000;
      }
      return answer;
    },
  };
  const fresh = [lead(), lead()];
  const { sink: s } = sink(p.adapter, { ...store, store: slowTakeovers }, { now: () => t });
  const outcomes = await s.deliver([fresh[0]!, fallback, fresh[1]!]);
  assert.deepEqual(calls, [
    [fresh[0]!.leadId, fresh[1]!.leadId],
    [fallback.leadId],
  ]);
  // The new texts went out within their window; the fallback's own window starts at its takeover.
  assert.equal(outcomes[0]?.status, 'delivered');
  assert.equal(outcomes[2]?.status, 'delivered');
  assert.equal(outcomes[1]?.status, 'retry', 'the fallback took 20 s to record: past its window, never called, retried');
  assert.deepEqual(p.calls.sort(), [fresh[0]!.enrichment!.phone.e164!, fresh[1]!.enrichment!.phone.e164!].sort());
});

test('a job whose second group fails to record still records what the first group sent, then fails', async () => {
  const p = fakeProvider();
  const store = memorySentStore();
  const fallback = { ...lead(), delivery: { destination: 'sms:twilio', rule: 'us', attempt: 1, firstAttemptAt: 0, nextAttemptAt: null, lastError: 'timeout', fallbacks: [] } };
  const failing = {
    ...store.store,
    recordIntents: async (list: Parameters<typeof store.store.recordIntents>[0], clock: () => number) => {
      if (list.some((x) => x.leadId === fallback.leadId)) throw new RetriableError('SMS store intent: no answer');
      return store.store.recordIntents(list, clock);
    },
  };
  const fresh = lead();
  const { sink: s } = sink(p.adapter, { ...store, store: failing });
  await assert.rejects(s.deliver([fresh, fallback]), /no answer/);
  assert.equal(p.calls.length, 1);
  // Redelivered: the new text is answered as sent (recorded), not sent again.
  const again = await s.deliver([fresh]);
  assert.match((again[0] as { detail: string }).detail, /already texted/);
  assert.equal(p.calls.length, 1);
});

test('a half-open circuit tries one text of the job; the others fall back at once, without a store call', async () => {
  let t = 0;
  const p = fakeProvider();
  const store = memorySentStore();
  const recorded: string[] = [];
  const counting: SentStore = {
    ...store.store,
    recordIntents: async (list, clock) => (recorded.push(...list.map((x) => x.leadId)), store.store.recordIntents(list, clock)),
  };
  const circuit = new ProviderCircuit(1, 5000, () => t);
  circuit.failure();
  t = 5000; // the reset time has passed: the next job holds the trial
  const { sink: s } = sink(p.adapter, { ...store, store: counting }, { now: () => t, circuit });
  const leads = [lead(undefined, ['sms:eurosms']), lead(undefined, ['sms:eurosms']), lead(undefined, ['sms:eurosms'])];
  const outcomes = await s.deliver(leads);
  assert.deepEqual(outcomes.map((o) => o.status), ['delivered', 'fallback', 'fallback']);
  assert.deepEqual(recorded, [leads[0]!.leadId]);
  assert.equal(p.calls.length, 1);
  assert.equal(circuit.admit(), 'all', 'the trial succeeded: closed');
});

test('a text taken over late in a slow job gets its window from its own takeover, not from the job\'s first write', async () => {
  const t = 1_000_000;
  const p = fakeProvider();
  const store = memorySentStore();
  const l = await fallbackFromEurosms(store, t);
  // The job's first write was 20 s before this takeover (the takeovers before it were slow).
  const slowJob: SentStore = { ...store.store, recordIntents: async (list, clock) => ({ ...(await store.store.recordIntents(list, clock)), intentAt: t - 20_000 }) };
  const { sink: s } = sink(p.adapter, { ...store, store: slowJob }, { now: () => t });
  const outcomes = await s.deliver([l]);
  assert.equal(outcomes[0]?.status, 'delivered');
  assert.equal(p.calls.length, 1);
});

test('the half-open trial is a new text when the job has one, not one tried before', async () => {
  let t = 0;
  const p = fakeProvider();
  const store = memorySentStore();
  const retried = await fallbackFromEurosms(store, 0);
  const fresh = lead(undefined, ['sms:eurosms']);
  const circuit = new ProviderCircuit(1, 5000, () => t);
  circuit.failure();
  t = 5000;
  const { sink: s } = sink(p.adapter, store, { now: () => t, circuit });
  const outcomes = await s.deliver([retried, fresh]);
  assert.deepEqual(outcomes.map((o) => o.status), ['retry', 'delivered']);
  assert.deepEqual(p.calls, [fresh.enrichment!.phone.e164!]);
});

test('a provider call that throws does not lose what the job\'s other calls sent: recorded, then the job fails', async () => {
  const thrower = lead();
  const p = fakeProvider();
  const adapter: SmsAdapter = { ...p.adapter, send: async (m) => (m.to === thrower.enrichment!.phone.e164 ? Promise.reject(new Error('adapter bug')) : p.adapter.send(m)) };
  const { sink: s } = sink(adapter);
  const ok = lead();
  await assert.rejects(s.deliver([ok, thrower]), /adapter bug/);
  const again = await s.deliver([ok]);
  assert.match((again[0] as { detail: string }).detail, /already texted/);
  assert.equal(p.calls.length, 1);
});

test('a trial the provider refuses for that text alone (a bad number) still closes the circuit: the provider answered', async () => {
  let t = 0;
  const p = fakeProvider(() => ({ ok: false, retriable: false, uncertain: false, error: 'HTTP 400 invalid number' }));
  const circuit = new ProviderCircuit(1, 5000, () => t);
  circuit.failure();
  t = 5000;
  const { sink: s } = sink(p.adapter, memorySentStore(), { now: () => t, circuit });
  const outcomes = await s.deliver([lead()]);
  assert.equal(outcomes[0]?.status, 'dead');
  assert.equal(circuit.admit(), 'all');
});

test('a redelivered job (its owner died after claiming and recording): those texts are read first, apart from the new ones, and only the new one is sent', async () => {
  const p = fakeProvider();
  const store = memorySentStore();
  const [crashed, fresh] = [lead(), lead()];
  // What a killed owner left: the phone claimed and the intent recorded, no outcome.
  await store.store.claimPhones([{ phone: crashed.enrichment!.phone.e164!, leadId: crashed.leadId }], Date.now(), 86_400_000);
  await store.store.recordIntents([{ leadId: crashed.leadId, phone: crashed.enrichment!.phone.e164!, provider: 'twilio' }], Date.now);
  const { sink: s } = sink(p.adapter, store);
  const out = await s.deliver([crashed, fresh]);
  assert.deepEqual(store.reads, [crashed.leadId], 'only the redelivered text is read before any insert');
  assert.equal(out[1]?.status, 'delivered');
  assert.notEqual(out[0]?.status, 'delivered', 'its earlier call is in flight or unknown: not sent again now');
  assert.deepEqual(p.calls, [fresh.enrichment!.phone.e164]);
});

test('the store is handed the job\'s abandon signal: reads of a redelivery stop when its partitions are taken away', async () => {
  const p = fakeProvider();
  const store = memorySentStore();
  const seen: boolean[] = [];
  const spied: SentStore = {
    ...store.store,
    claimPhones: (claims, now, windowMs, stop) => (seen.push(stop?.() ?? false), store.store.claimPhones(claims, now, windowMs, stop)),
  };
  const crashed = lead();
  await store.store.claimPhones([{ phone: crashed.enrichment!.phone.e164!, leadId: crashed.leadId }], Date.now(), 86_400_000);
  const { sink: s } = sink(p.adapter, { ...store, store: spied });
  // Still owned when the job starts; taken away by the time the store reads the claims.
  let checks = 0;
  await assert.rejects(s.deliver([crashed], { abandoned: () => ++checks > 1 }), Abandoned);
  assert.deepEqual(seen, [true]);
  assert.equal(p.calls.length, 0);
});
