/**
 * Issue 8 through real Kafka, registry, MongoDB and the router as a process:
 *  - the vanish-a-lead attack fails: another vendor's post with the same vendorLeadId and vendor
 *    name does not turn the real vendor's lead into a duplicate;
 *  - PII never reaches logs or DLQ headers: one person's leads go through every path (delivered,
 *    retried, dead-lettered with a buyer answer that echoes them, an SMS reply, a delivery
 *    receipt), then every log line of every router process and every DLQ header is searched
 *    for their name, e-mail and phone.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { hmacHeaders, signTwilio } from '../../src/sinks/sms/signature.js';
import { usLeadBody } from '../support/fixtures.js';
import { OPERATOR_HEADERS, postLead, startHarness, VENDOR_KEYS, waitUntil, type Harness } from './harness.js';

let h: Harness;
let ingest: string;

before(async () => {
  h = await startHarness('security');
  ingest = (await h.spawnRouter(['all'])).ingestUrl!;
});
after(async () => {
  await h?.close();
});

type Event = { type: string; destination?: string; detail?: string };
async function history(leadId: string, until: (events: Event[]) => boolean): Promise<Event[]> {
  return waitUntil(`history of ${leadId}`, async () => {
    const res = await fetch(`${ingest}/v1/leads/${leadId}`, { headers: OPERATOR_HEADERS });
    if (res.status !== 200) return null;
    const events = ((await res.json()) as { events: Event[] }).events;
    return until(events) ? events : null;
  }, 60_000);
}
const delivered = (server: { received: { leadId: string | null; accepted: boolean }[] }, leadId: string) => server.received.some((r) => r.leadId === leadId && r.accepted);

test('vanish a real vendor\'s lead: the attack fails over real HTTP', async () => {
  const vendorLeadId = `A-1001-${Date.now()}`;
  const attack = await postLead(ingest, usLeadBody({ vendor: 'acme-leads', vendorLeadId }), 'application/json', VENDOR_KEYS['vendor-a']);
  assert.equal(attack.status, 202);
  const real = await postLead(ingest, usLeadBody({ vendorLeadId, phone: '+14158671999' }));
  assert.equal(real.status, 202);
  assert.equal(real.json.duplicate, false);
  assert.notEqual(real.json.leadId, attack.json.leadId);
  await waitUntil('the real lead at the buyer', () => delivered(h.sandbox.buyerUs, real.json.leadId), 60_000);
  const received = (await history(real.json.leadId, (ev) => ev.some((e) => e.type === 'received')))[0];
  assert.equal(received?.type, 'received');
  const doc = (await (await fetch(`${ingest}/v1/leads/${attack.json.leadId}`, { headers: OPERATOR_HEADERS })).json()) as { vendor: string };
  assert.equal(doc.vendor, 'vendor-a', 'the attacker\'s lead is theirs');
  assert.equal((await postLead(ingest, usLeadBody(), 'application/json', 'lr_forged_' + 'A'.repeat(43))).status, 403);
});

test('a person\'s name, e-mail and phone are in no log line and no DLQ header, whatever path their leads took', async () => {
  const person = { firstName: 'Zebulon', lastName: 'Quixotic', email: 'zebulon.quixotic@example.org' };
  const phoneA = '+14158675309';
  const phoneB = '+14158675310';
  const dlq = await h.reader(h.topology.topics.dlq);

  // success after a retry: the buyer answers garbage first, then accepts; SMS and search deliver
  h.sandbox.buyerUs.setMode('malformed');
  const a = (await postLead(ingest, usLeadBody({ ...person, phone: phoneA, vendorLeadId: `pii-a-${Date.now()}` }))).json.leadId as string;
  await history(a, (ev) => ev.some((e) => e.type === 'retried' && e.destination === 'primary:buyer-us'));
  h.sandbox.buyerUs.setMode('healthy');
  const eventsA = await history(a, (ev) => ['primary:buyer-us', 'sms:twilio'].every((d) => ev.some((e) => e.type === 'delivered' && e.destination === d)));

  // dead: the buyer rejects, echoing the person in its answer
  const b = (await postLead(ingest, usLeadBody({ ...person, phone: phoneB, vendor: 'reject-me' }))).json.leadId as string;
  await history(b, (ev) => ev.some((e) => e.type === 'dead'));
  const dead = await dlq.waitFor((e) => e.leadId === b, 60_000);
  assert.match(dead.deadLetter?.reason ?? '', /buyer rejected the lead: vendor not bought/);

  // an SMS reply and a delivery receipt
  const reply = JSON.stringify({ from: phoneA, to: 'LEADROUTER', text: `Zebulon here, call me on ${phoneA}`, id: `in-${Date.now()}` });
  const replied = await fetch(`${ingest}/v1/webhooks/sms/eurosms/inbound`, { method: 'POST', headers: { 'content-type': 'application/json', ...hmacHeaders('sandbox-webhook-secret', reply, Date.now()) }, body: reply });
  assert.equal(replied.status, 200);
  const sid = /message (\S+)/.exec(eventsA.find((e) => e.type === 'delivered' && e.destination === 'sms:twilio')?.detail ?? '')?.[1];
  assert.ok(sid);
  const url = `${ingest}/v1/webhooks/sms/twilio/status`;
  const params = { MessageSid: sid, MessageStatus: 'undelivered', ErrorCode: '30003', To: phoneA };
  const receipt = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio({ authToken: 'sandbox-token', url, params }) }, body: new URLSearchParams(params).toString() });
  assert.ok(receipt.status < 300, `receipt ${receipt.status}`);
  const final = await history(a, (ev) => ev.some((e) => e.type === 'reply') && ev.some((e) => e.type === 'status'));

  const needles = [person.firstName, person.lastName, person.email, phoneA.slice(2), phoneB.slice(2), '867-5309', '867 5309'];
  const found = (text: string) => needles.filter((n) => text.toLowerCase().includes(n.toLowerCase()));
  // History details (what operators and vendors read) are scrubbed too.
  for (const e of [...final, ...(await history(b, () => true))]) assert.deepEqual(found(e.detail ?? ''), [], `history ${e.type}: ${e.detail}`);
  await new Promise((r) => setTimeout(r, 1500)); // let the processes write their last lines
  const logs = fs.readdirSync(h.logDir).filter((f) => f.endsWith('.log'));
  assert.ok(logs.length > 0);
  let lines = 0;
  for (const file of logs) {
    for (const line of fs.readFileSync(path.join(h.logDir, file), 'utf8').split('\n')) {
      lines++;
      assert.deepEqual(found(line), [], `${file}: ${line.slice(0, 300)}`);
    }
  }
  assert.ok(lines > 20, `read ${lines} log lines`);
  const dlqHeaders = dlq.raw.map((r) => JSON.stringify(r.headers));
  assert.ok(dlqHeaders.some((hd) => hd.includes('buyer rejected')), 'the DLQ record of lead b was read');
  for (const hd of dlqHeaders) assert.deepEqual(found(hd), [], `DLQ headers: ${hd}`);
});
