/** Replay (shared by the dashboard and the CLI): dead-letter entries, filters, verdicts from history, edits, dry runs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredEvent } from '../../src/history/store.js';
import { fixedLimits } from '../../src/kafka/produce-limits.js';
import type { EncodedRecord } from '../../src/kafka/produce-limits.js';
import type { LeadEvent } from '../../src/lead.js';
import { DeadLetterIndex, deadLeadOf, latestPerDelivery, matchesFilter } from '../../src/ops/dead-letters.js';
import { EditError, applyEdit, checkEdit } from '../../src/ops/lead-edit.js';
import { replayDeadLeads, replayVerdict } from '../../src/ops/replay.js';
import { deliveryState } from '../../src/ops/topic-replay.js';
import { parseReplayArgs, parseTime, UsageError } from '../../src/ops/replay-cli.js';
import { leadEvent } from '../support/fixtures.js';

const topology = { topics: { raw: 'leads.raw', enriched: 'leads.enriched', primary: 'leads.primary', search: 'leads.search', dlq: 'leads.dlq', events: 'leads.events', sms: { twilio: 'leads.sms.twilio' }, retry: { primary: 'leads.retry.primary', search: 'leads.retry.search', sms: { twilio: 'leads.retry.sms.twilio' } } } } as never;
const T0 = 1_800_000_000_000;

function dead(overrides: Partial<LeadEvent> = {}, at = T0, destination: string | null = 'primary:buyer-us'): ReturnType<typeof deadLeadOf> {
  const lead = leadEvent({
    delivery: destination ? { destination, rule: 'us', attempt: 3, firstAttemptAt: at - 5000, nextAttemptAt: null, lastError: 'HTTP 500', fallbacks: [] } : null,
    deadLetter: { reason: 'gave up after 4 attempts; last error: HTTP 500', stage: destination ? 'sink-primary' : 'enrich', at, topic: destination ? 'leads.primary' : 'leads.raw', partition: 1, offset: '7' },
    ...overrides,
  });
  return deadLeadOf(lead, { partition: 2, offset: String(at - T0), timestamp: at, headers: {} });
}
const ev = (type: string, at: number, destination: string | null = 'primary:buyer-us'): StoredEvent => ({ _id: `${type}-${at}`, leadId: 'x', type, at: new Date(at), stage: 's', destination, attempt: 0, detail: null, fields: {} });

test('dead letters: one entry per lead and destination (the newest death), filtered by destination, reason and time', () => {
  const index = new DeadLetterIndex();
  index.add(dead({}, T0));
  index.add(dead({}, T0 + 1000)); // the same lead died again after a replay
  index.add(dead({ leadId: 'other' }, T0 + 500, 'sms:twilio'));
  assert.equal(index.size(), 2);
  assert.equal(index.find({})[0]!.deadAt, T0 + 1000, 'newest first, latest death kept');
  assert.deepEqual(index.find({ destination: 'sms:twilio' }).map((d) => d.leadId), ['other']);
  assert.equal(index.find({ reason: 'HTTP 500' }).length, 2, 'reason: case-insensitive substring');
  assert.equal(index.find({ since: T0 + 600 }).length, 1);
  assert.equal(index.find({ until: T0 + 600 }).length, 1);
  assert.ok(!matchesFilter(dead(), { leadIds: ['nope'] }));
  assert.equal(latestPerDelivery([dead({}, T0 + 5), dead({}, T0 + 9), dead({}, T0 + 1)])[0]!.deadAt, T0 + 9);
});

test('verdict: a lead delivered there, or replayed since it died, is not sent again; dead again after a replay, it is', () => {
  const d = dead();
  assert.deepEqual(replayVerdict(d, [], topology), { replay: true, topic: 'leads.retry.primary', key: d.leadId }, 'the retry lane: a replay never queues in front of fresh leads');
  assert.deepEqual(replayVerdict(d, [ev('delivered', T0 - 10)], topology), { replay: false, why: 'already delivered' });
  assert.deepEqual(replayVerdict(d, [ev('replayed', T0 + 10)], topology), { replay: false, why: 'already replayed since it died' });
  assert.equal(replayVerdict(d, [ev('replayed', T0 - 10)], topology).replay, true, 'a replay before this death does not count');
  assert.equal(replayVerdict(d, [ev('delivered', T0, 'sms:twilio')], topology).replay, true, 'delivered elsewhere does not count');
  const sms = dead({}, T0, 'sms:twilio');
  assert.deepEqual(replayVerdict(sms, [], topology), { replay: true, topic: 'leads.retry.sms.twilio', key: '+14155550132' }, 'SMS keyed by phone');
  assert.equal(replayVerdict(dead({}, T0, 'sms:gone'), [], topology).replay, false);
  const early = dead({}, T0, null);
  assert.deepEqual(replayVerdict(early, [], topology), { replay: true, topic: 'leads.raw', key: early.leadId }, 'died in enrich: back to leads.raw');
});

function fakeDeps(history: Record<string, StoredEvent[]> = {}) {
  const sent: EncodedRecord[] = [];
  return {
    sent,
    deps: {
      topology,
      history: async (id: string) => history[id] ?? [],
      encoder: { encode: (topic: string, value: unknown) => Buffer.from(JSON.stringify({ topic, value })) },
      producer: { send: async (records: EncodedRecord[]) => void sent.push(...records) },
      limits: fixedLimits(),
      now: () => T0 + 60_000,
    },
  };
}
const decoded = (r: EncodedRecord) => JSON.parse(r.value.toString()) as { topic: string; value: Record<string, any> };

test('replay: onto the destination\'s retry topic at attempt 0, edited, with a replayed event; skipped ones are counted by reason', async () => {
  const { sent, deps } = fakeDeps({ done: [ev('delivered', T0)] });
  const report = await replayDeadLeads(deps, [dead(), dead({ leadId: 'done' })], { by: 'operator:ops', edit: { jobTitle: 'RN' } });
  assert.equal(report.replayed, 1);
  assert.deepEqual(report.reasons, { 'already delivered': 1 });
  const lead = decoded(sent.find((r) => r.topic === 'leads.retry.primary')!).value;
  assert.equal(lead.jobTitle, 'RN');
  assert.equal(lead.deadLetter, null);
  assert.equal(lead.delivery.attempt, 0);
  assert.equal(lead.delivery.firstAttemptAt, T0 + 60_000, 'a fresh retry budget');
  const event = decoded(sent.find((r) => r.topic === 'leads.events')!).value;
  assert.equal(event.type, 'replayed');
  assert.equal(event.destination, 'primary:buyer-us');
  assert.match(event.detail, /by operator:ops; edited: jobTitle; had died/);
});

test('replay: a dry run sends nothing and says what it would do', async () => {
  const { sent, deps } = fakeDeps();
  const report = await replayDeadLeads(deps, [dead()], { by: 'cli', dryRun: true });
  assert.equal(sent.length, 0);
  assert.equal(report.items[0]!.action, 'would replay');
});

test('edits: only the lead\'s own fields, merged deeply; identity and delivery refused', () => {
  const lead = leadEvent();
  const edited = applyEdit(lead, { jobTitle: 'RN', consent: { sms: false } });
  assert.equal(edited.jobTitle, 'RN');
  assert.deepEqual(edited.consent, { ...lead.consent, sms: false });
  assert.equal(lead.jobTitle, 'CNA', 'the original is not touched');
  assert.throws(() => checkEdit({ leadId: 'x' }), EditError);
  assert.throws(() => checkEdit({ vendor: 'someone-else' }), /cannot edit "vendor"/);
  assert.throws(() => checkEdit([]), EditError);
  assert.throws(() => checkEdit({}), /changes nothing/);
});

test('topic replay: delivered, in flight, or open per destination', () => {
  assert.equal(deliveryState([ev('delivered', T0)], 'primary:buyer-us'), 'delivered');
  assert.equal(deliveryState([ev('replayed', T0)], 'primary:buyer-us'), 'in flight');
  assert.equal(deliveryState([ev('replayed', T0), ev('dead', T0 + 1)], 'primary:buyer-us'), 'open');
  assert.equal(deliveryState([ev('delivered', T0, 'sms:twilio')], 'primary:buyer-us'), 'open');
});

test('the replay CLI parses times and refuses what it cannot do', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  assert.equal(parseTime('2h', now), now - 7_200_000);
  assert.equal(parseTime('2026-05-01T10:00:00Z'), Date.parse('2026-05-01T10:00:00Z'));
  assert.equal(parseTime('1777629600000'), 1_777_629_600_000);
  assert.throws(() => parseTime('yesterday'), UsageError);
  assert.deepEqual(parseReplayArgs(['--from', 'dlq', '--destination', 'primary:buyer-us', '--dry-run']).destination, 'primary:buyer-us');
  assert.throws(() => parseReplayArgs(['--topic', 'leads.raw']), /--since/);
  assert.throws(() => parseReplayArgs([]), /--from dlq, or --topic/);
  assert.throws(() => parseReplayArgs(['--from', 'dlq', '--topic', 'leads.raw']), UsageError);
  assert.throws(() => parseReplayArgs(['--from', 'dlq', '--bogus']), /unknown option/);
  assert.throws(() => parseReplayArgs(['--from', 'dlq', '--edit', '/nonexistent.json']), /--edit/);
});
