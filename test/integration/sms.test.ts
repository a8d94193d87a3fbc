/**
 * The SMS channel through real Kafka: provider fallback, quiet hours with a moved clock,
 * STOP replies, dedup by phone across vendors, and delivery receipts in the history.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR_HEADERS, postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';
import { usLeadBody } from '../support/fixtures.js';
import { hmacHeaders, signTwilio } from '../../src/sinks/sms/signature.js';

let h: Harness;
let router: RouterProcess;
let ingest: string;
// 2026-07-15 06:00 UTC is 23:00 the evening before in Los Angeles (PDT, UTC-7).
const LA_23H = Date.parse('2026-07-15T06:00:00Z');
const LA_08H = Date.parse('2026-07-15T15:00:00Z');

before(async () => {
  // The real quiet-hour windows for this file, and a short hold so released texts move quickly.
  h = await startHarness('sms', { smsPolicy: { quietHours: { US: { start: '08:00', end: '21:00' }, UK: { start: '08:00', end: '21:00' } } }, env: { BACKUP_HOLD_HORIZON_MS: '1000', QUIET_HOURS_HOLD_HORIZON_MS: '1000' } });
  await h.setClock(Date.parse('2026-07-15T19:00:00Z')); // noon in Los Angeles: texting allowed
  router = await h.spawnRouter(['all']);
  ingest = router.ingestUrl!;
});
after(async () => {
  await h?.close();
});

let phoneSeq = 0;
/** A fresh valid San Francisco number per lead, so tests do not trip each other's dedup. */
const phone = () => `+1415867${String(1000 + phoneSeq++).padStart(4, '0')}`;
const textedBy = (server: { received: { leadId: string | null; accepted: boolean }[] }, leadId: string) => server.received.some((r) => r.leadId === leadId && r.accepted);

async function historyOf(leadId: string, until: (events: { type: string; destination?: string; detail?: string }[]) => boolean) {
  return waitUntil(`history of ${leadId}`, async () => {
    const res = await fetch(`${ingest}/v1/leads/${leadId}`, { headers: OPERATOR_HEADERS });
    if (res.status !== 200) return null;
    const doc = (await res.json()) as { events: { type: string; destination?: string; detail?: string }[] };
    return until(doc.events) ? doc.events : null;
  });
}

test('a provider that fails hands the text to the next provider in the lead\'s list', async () => {
  h.sandbox.twilio.setMode('error500');
  try {
    const res = await postLead(ingest, usLeadBody({ phone: phone() }));
    const leadId = res.json.leadId as string;
    await waitUntil('the fallback provider to text the lead', () => textedBy(h.sandbox.jsonSms, leadId));
    assert.ok(!textedBy(h.sandbox.twilio, leadId));
    const events = await historyOf(leadId, (ev) => ev.some((e) => e.type === 'delivered' && e.destination === 'sms:eurosms'));
    assert.ok(events.some((e) => e.type === 'fallback' && e.destination === 'sms:twilio' && e.detail === 'to sms:eurosms'));
  } finally {
    h.sandbox.twilio.setMode('healthy');
  }
});

test('a lead at 23:00 local is deferred, not sent, and released at 08:00', async () => {
  await h.setClock(LA_23H);
  try {
    const res = await postLead(ingest, usLeadBody({ phone: phone() }));
    const leadId = res.json.leadId as string;
    const deferred = await (await h.reader(h.topology.topics.smsDeferred)).waitFor((e) => e.leadId === leadId);
    assert.equal(deferred.delivery?.nextAttemptAt, LA_08H, 'released when the window opens at 08:00 local');
    await historyOf(leadId, (ev) => ev.some((e) => e.type === 'deferred'));
    await new Promise((r) => setTimeout(r, 2500)); // two hold horizons: still night, still not sent
    assert.ok(!textedBy(h.sandbox.twilio, leadId), 'nothing is sent at night');

    await h.setClock(LA_08H + 30_000);
    await waitUntil('the text to go out once it is 08:00 in Los Angeles', () => textedBy(h.sandbox.twilio, leadId));
  } finally {
    await h.setClock(Date.parse('2026-07-15T19:00:00Z'));
  }
});

test('a STOP reply, through any provider, stops the next lead for that phone on every provider', async () => {
  const number = phone();
  const body = JSON.stringify({ from: number, to: 'LEADROUTER', text: 'please stop texting me', id: 'in-1' });
  const reply = await fetch(`${ingest}/v1/webhooks/sms/eurosms/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...hmacHeaders('sandbox-webhook-secret', body, Date.now()) },
    body,
  });
  assert.equal(reply.status, 200);
  assert.equal(((await reply.json()) as { intent: string }).intent, 'STOP');
  const optouts = await h.reader(h.topology.topics.optouts);
  await waitUntil('the opt-out on the compacted topic', () => optouts.raw.some((r) => r.value?.includes(Buffer.from(number.slice(1)))));
  // The router's own followers read the same topic a fetch (≤ 200 ms) behind this reader.
  await new Promise((r) => setTimeout(r, 1000));

  const res = await postLead(ingest, usLeadBody({ phone: number, vendor: 'another-vendor' }));
  const leadId = res.json.leadId as string;
  // Whichever sees the opt-out first stops the text: the route (no SMS delivery at all) or the
  // SMS sink (suppressed). Both are final; neither provider may text the number.
  const stoppedByRoute = (e: { type: string; detail?: string }) => e.type === 'routed' && /sms: number opted out/.test(e.detail ?? '');
  const events = await historyOf(leadId, (ev) => ev.some((e) => e.type === 'suppressed' || stoppedByRoute(e)));
  const suppressed = events.find((e) => e.type === 'suppressed');
  if (suppressed) assert.equal(suppressed.destination, 'sms:twilio');
  assert.ok(!textedBy(h.sandbox.twilio, leadId) && !textedBy(h.sandbox.jsonSms, leadId));
  await waitUntil('the buyer still to get the lead', () => textedBy(h.sandbox.buyerUs, leadId));

  // A forged STOP changes nothing.
  const forged = await fetch(`${ingest}/v1/webhooks/sms/eurosms/inbound`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': 'sha256=' + '0'.repeat(64) }, body });
  assert.equal(forged.status, 403);
});

test('the same person sent again by another vendor is not texted twice; the duplicate is in the history', async () => {
  const number = phone();
  const first = (await postLead(ingest, usLeadBody({ phone: number, vendor: 'vendor-a' }))).json.leadId as string;
  await waitUntil('the first lead to be texted', () => textedBy(h.sandbox.twilio, first));
  const second = (await postLead(ingest, usLeadBody({ phone: number, vendor: 'vendor-b', source: 'other-board' }))).json.leadId as string;
  const events = await historyOf(second, (ev) => ev.some((e) => e.type === 'duplicate'));
  assert.match(events.find((e) => e.type === 'duplicate')?.detail ?? '', new RegExp(`duplicate of lead ${first}`));
  assert.ok(!textedBy(h.sandbox.twilio, second) && !textedBy(h.sandbox.jsonSms, second));
});

test('a delivery receipt lands in the history, once, however often it is repeated', async () => {
  const leadId = (await postLead(ingest, usLeadBody({ phone: phone() }))).json.leadId as string;
  const events = await historyOf(leadId, (ev) => ev.some((e) => e.type === 'delivered' && e.destination === 'sms:twilio'));
  const sid = /message (\S+)/.exec(events.find((e) => e.destination === 'sms:twilio')?.detail ?? '')?.[1];
  assert.ok(sid, 'the provider message id is recorded');
  const url = `${ingest}/v1/webhooks/sms/twilio/status`;
  const params = { MessageSid: sid, MessageStatus: 'delivered', AccountSid: 'ACsandbox0000000000000000000000000' };
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio({ authToken: 'sandbox-token', url, params }) },
      body: new URLSearchParams(params).toString(),
    });
    assert.ok(res.status < 300, `receipt answered ${res.status}`);
  }
  const withStatus = await historyOf(leadId, (ev) => ev.some((e) => e.type === 'status'));
  await new Promise((r) => setTimeout(r, 500)); // let any repeat reach the history
  const again = await historyOf(leadId, () => true);
  assert.equal(again.filter((e) => e.type === 'status').length, 1, 'repeated callbacks add one event');
  assert.equal(withStatus.find((e) => e.type === 'status')?.detail, 'delivered');
});
