/**
 * At-least-once across a crash: a sink process killed with SIGKILL in the middle of a batch
 * (requests in flight, nothing committed) delivers every lead after it is restarted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { postLead, startHarness, waitUntil, type Harness } from './harness.js';
import { usLeadBody } from '../support/fixtures.js';

let h: Harness;
before(async () => {
  h = await startHarness('kill');
});
after(async () => {
  await h?.close();
});

test('a sink killed with SIGKILL mid-batch delivers every lead after restart', async () => {
  const front = await h.spawnRouter(['ingest', 'enrich', 'route']);
  let sink = await h.spawnRouter(['sink-primary']);
  // The buyer takes 3 s per request: the batch is in flight when the sink dies.
  h.sandbox.buyerUs.setMode('slow', 3000);

  const leadIds: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await postLead(front.ingestUrl!, usLeadBody({ vendorLeadId: `kill-${i}-${Date.now()}` }));
    assert.equal(res.status, 202);
    leadIds.push(res.json.leadId);
  }
  const primary = await h.reader(h.topology.topics.primary);
  await waitUntil('all 20 leads routed to leads.primary', () => leadIds.every((id) => primary.events.some((e) => e.event.leadId === id)));
  await new Promise((r) => setTimeout(r, 1000)); // the sink has fetched and is waiting on the buyer
  await sink.stop('SIGKILL');
  assert.ok(!leadIds.every((id) => h.sandbox.buyerUs.received.some((r) => r.leadId === id && r.accepted)), 'the kill happened before all were delivered');

  h.sandbox.buyerUs.setMode('healthy');
  sink = await h.spawnRouter(['sink-primary']);
  await waitUntil(
    'every lead accepted by the buyer after the restart',
    () => leadIds.every((id) => h.sandbox.buyerUs.received.some((r) => r.leadId === id && r.accepted)),
    60_000,
  );
  // Redelivery is expected (at-least-once); the idempotency key lets the buyer see it is the same delivery.
  const keys = h.sandbox.buyerUs.received.filter((r) => r.accepted).map((r) => r.headers['idempotency-key']);
  for (const id of leadIds) assert.ok(keys.includes(`${id}:primary:buyer-us`));
  await Promise.all([front.stop(), sink.stop()]);
});

test('a rolling restart (SIGTERM mid-batch) finishes and commits the batch in hand: every lead once, none lost', async () => {
  const front = await h.spawnRouter(['ingest', 'enrich', 'route']);
  let sink = await h.spawnRouter(['sink-primary']);
  h.sandbox.buyerUs.setMode('slow', 1500);
  const primary = await h.reader(h.topology.topics.primary);
  const leadIds: string[] = [];
  for (let i = 0; i < 20; i++) leadIds.push((await postLead(front.ingestUrl!, usLeadBody({ vendorLeadId: `term-${i}-${Date.now()}` }))).json.leadId);
  await waitUntil('all 20 leads on leads.primary', () => leadIds.every((id) => primary.events.some((e) => e.event.leadId === id)));
  await new Promise((r) => setTimeout(r, 500)); // requests are in flight to the slow buyer
  await sink.stop('SIGTERM'); // what a deploy does
  assert.equal(sink.child.exitCode, 0, 'the sink shut down cleanly');

  h.sandbox.buyerUs.setMode('healthy');
  sink = await h.spawnRouter(['sink-primary']);
  const accepted = (id: string) => h.sandbox.buyerUs.received.filter((r) => r.leadId === id && r.accepted).length;
  await waitUntil('every lead accepted after the restart', () => leadIds.every((id) => accepted(id) >= 1), 60_000);
  await new Promise((r) => setTimeout(r, 2000)); // anything re-read after the restart would arrive now
  assert.deepEqual(leadIds.filter((id) => accepted(id) !== 1), [], 'the batch in hand was committed before exit: nothing delivered twice');
});
