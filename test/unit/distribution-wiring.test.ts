/**
 * The distribution wired into the router: buyers and groups in the router file (every problem at
 * once), rules naming a group, weighted spread over many leads, `route --explain`, settle()'s
 * records for unsold and retried leads, and the revenue report's table.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import YAML from 'yaml';
import { ConfigError, parseRouterFile } from '../../src/config.js';
import { buyerGroupSchema, distributionBuyerSchema } from '../../src/distribution/buyer-schema.js';
import type { DistributionOutcome } from '../../src/distribution/outcome.js';
import type { LeadEvent } from '../../src/lead.js';
import { runRouteCli } from '../../src/processors/route/cli.js';
import { formatRevenue, parseSince } from '../../src/sinks/primary/money-cli.js';
import { planBatch } from '../../src/sinks/primary/planner.js';
import { settle } from '../../src/stages/outcomes.js';
import { historyView } from '../../src/ingest/history-view.js';
import { routingReloader } from '../../src/stages/route-stage.js';
import { leadEvent } from '../support/fixtures.js';

const shippedText = fs.readFileSync('config/router.yaml', 'utf8');
function withPrimary(edit: (doc: Record<string, any>) => void): string {
  const doc = YAML.parse(shippedText) as Record<string, any>;
  edit(doc);
  return YAML.stringify(doc);
}
const problems = (text: string) => {
  try {
    parseRouterFile(text, 'router.yaml');
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n').slice(1);
  }
};

describe('buyers and groups in the router file', () => {
  test('the shipped file still validates, and a rule may name a group', () => {
    const text = withPrimary((d) => {
      d.primary.buyers['buyer-us'].price = 12;
      d.primary.groups = { 'us-all': { method: 'round-robin', buyers: ['buyer-us', 'buyer-uk'] } };
      d.routing.rules[1].then.primary = 'us-all';
    });
    const file = parseRouterFile(text, 'router.yaml');
    assert.equal(file.primary.groups['us-all']!.method, 'round-robin');
    assert.equal(file.primary.buyers['buyer-us']!.secret?.startsWith('whsec_'), true);
  });

  test('every problem of the primary section at once: a cap without a zone, a name both buyer and group, auction terms, unknown members', () => {
    const text = withPrimary((d) => {
      d.primary.buyers['buyer-us'].caps = { day: 10 }; // no timezone
      d.primary.groups = { 'buyer-uk': { buyers: ['buyer-us'] }, g: { method: 'auction', buyers: ['buyer-us', 'ghost'] } };
      d.routing.rules[0].then.primary = 'nobody';
      d.security.buyers = { stranger: { keys: [{ id: 'k1', hash: `hmac-sha256:${'A'.repeat(43)}` }] } };
    });
    const found = problems(text).join('\n');
    for (const expected of [
      'primary.buyers.buyer-us.timezone: required with caps.day',
      'primary.groups.buyer-uk: "buyer-uk" is also a buyer',
      'primary.groups.g.buyers.0: auction: "buyer-us" has neither a ping',
      'primary.groups.g.buyers.1: unknown buyer "ghost"',
    ]) assert.ok(found.includes(expected), `${expected}\n---\n${found}`);
  });

  test('a rule naming an unknown group, and buyer keys for an unknown buyer, are refused', () => {
    const text = withPrimary((d) => {
      d.primary.groups = { g: { buyers: ['buyer-us'] } };
      d.routing.rules[0].then.primary = 'nobody';
      d.security.buyers = { stranger: { keys: [{ id: 'k1', hash: `hmac-sha256:${'A'.repeat(43)}` }] } };
    });
    const found = problems(text).join('\n');
    assert.match(found, /routing\.rules\.0\.then\.primary: unknown buyer "nobody" \(neither a buyer in primary\.buyers nor a group in primary\.groups\)/);
    assert.match(found, /security\.buyers\.stranger: unknown buyer "stranger"/);
  });
});

test('weighted: over 2,000 leads the first buyer follows the weights within 5%', async () => {
  const buyers = Object.fromEntries(['w3', 'w1', 'w0'].map((n) => [n, distributionBuyerSchema.parse({ url: 'http://127.0.0.1:1/x' })]));
  const group = buyerGroupSchema.parse({ method: 'weighted', buyers: [{ name: 'w3', weight: 3 }, { name: 'w1', weight: 1 }, { name: 'w0', weight: 1 }] });
  const jobs = Array.from({ length: 2000 }, () => ({ lead: leadEvent({ leadId: uuidv7() }), target: 'g', group, single: false }));
  const planned = await planBatch(jobs, buyers, { now: Date.now, counts: async () => ({}), bids: null, cursors: new Map() });
  const share = (n: string) => planned.filter((p) => p.state.candidates[0]!.buyer === n).length / 2000;
  assert.ok(Math.abs(share('w3') - 0.6) < 0.05, `w3 ${share('w3')}`);
  assert.ok(Math.abs(share('w1') - 0.2) < 0.05, `w1 ${share('w1')}`);
  // Deterministic per lead: planning the same lead again gives the same order.
  const again = await planBatch(jobs.slice(0, 50), buyers, { now: Date.now, counts: async () => ({}), bids: null, cursors: new Map() });
  assert.deepEqual(again.map((p) => p.state.candidates.map((c) => c.buyer)), planned.slice(0, 50).map((p) => p.state.candidates.map((c) => c.buyer)));
});

test('route --explain: every buyer of the group considered, with why it was chosen or skipped', async () => {
  const file = parseRouterFile(
    withPrimary((d) => {
      d.primary.buyers['buyer-us'].price = 12;
      d.primary.buyers['buyer-ca'] = { url: 'http://127.0.0.1:4703/leads', filters: { states: 'TX' }, price: 30 };
      d.primary.buyers['buyer-full'] = { url: 'http://127.0.0.1:4704/leads', timezone: 'America/Chicago', caps: { hour: 2 }, price: 20 };
      d.primary.groups = { 'us-all': { buyers: ['buyer-ca', 'buyer-full', 'buyer-us'] } };
      d.routing.rules[1].then.primary = 'us-all';
    }),
    'router.yaml',
  );
  const { leadId: _id, hops: _h, delivery: _d, rejection: _r, deadLetter: _x, receivedAt: _at, ...enriched } = leadEvent();
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const counts = async (ids: string[]) => Object.fromEntries(ids.map((id) => [id, id.startsWith('buyer-full:') ? 2 : 0]));
  await runRouteCli(Readable.from([JSON.stringify(enriched) + '\n']), out, { router: file }, { explain: true, distribution: { now: Date.now, counts, bids: null } });
  const record = JSON.parse(Buffer.concat(chunks).toString()) as { distribution: string[] };
  assert.deepEqual(record.distribution, [
    'group us-all: priority, exclusive (1 buyer), retry failing buyers for 60s',
    '  1. buyer-us at 12 (fixed)',
    '  - buyer-ca: filtered: state CA not in [TX]',
    '  - buyer-full: capped: hour 2/2',
  ]);
});

describe('settle() after a distribution pass', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 300_000, maxAttempts: 8, maxAgeMs: 86_400_000 };
  const topology = { topics: { backup: 'leads.backup', dlq: 'leads.dlq', unsold: 'leads.unsold', events: 'leads.events', sms: {} } } as never;
  const lead = leadEvent({ delivery: { destination: 'primary:g', rule: 'r', attempt: 2, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] } });
  const state = { target: 'g', single: false, method: 'priority', maxBuyers: 1, deadlineMs: 60_000, redistributeOnReturn: false, plannedAt: 0, round: 1, candidates: [], skipped: [], attempts: [], status: 'open' as const };
  const consumed = { topic: 'leads.primary', partition: 0, offset: '7', key: null, value: lead, raw: null } as never;

  test('retry: leads.backup due at the backoff, but never after the deadline; replies are scrubbed of the person', () => {
    const outcome: DistributionOutcome = { status: 'distribution', state, notes: [{ type: 'failed', buyer: 'a', detail: 'HTTP 503: jane.doe@example.com try later' }], result: { kind: 'retry', error: 'a: HTTP 503', notAfter: 1_000 + 500 } };
    const s = settle(consumed, outcome, { stage: 'sink-primary', policy, topology, now: 1_000 });
    const backup = s.outputs[0]!.value as LeadEvent;
    assert.equal(backup.delivery!.nextAttemptAt, 1_500, 'the deadline comes before the backoff');
    assert.equal(backup.delivery!.attempt, 3);
    assert.doesNotMatch(s.history[0]!.detail!, /jane/);
    assert.notEqual(s.history[0]!.discriminator, undefined, 'a re-planned round has events of its own');
  });

  test('unsold: leads.unsold carrying the state, reasons in a header', () => {
    const outcome: DistributionOutcome = { status: 'distribution', state, notes: [], result: { kind: 'unsold', reasons: ['a: closed: opens Mon 09:00 America/Chicago'] } };
    const s = settle(consumed, outcome, { stage: 'sink-primary', policy, topology, now: 1_000 });
    assert.equal(s.outputs[0]!.topic, 'leads.unsold');
    assert.equal((s.outputs[0]!.value as LeadEvent).distribution!.status, 'unsold');
    assert.equal(s.outputs[0]!.headers!['x-unsold-reasons'], 'a: closed: opens Mon 09:00 America/Chicago');
    assert.equal(s.history.at(-1)!.type, 'unsold');
  });
});

test('revenue report: a table with a total, or CSV; times as ISO, epoch ms or an age', () => {
  const rows = [
    { key: 'acme', sold: 41, gross: 902, returned: 2, credited: 44, net: 858 },
    { key: 'beta, inc', sold: 3, gross: 30, returned: 0, credited: 0, net: 30 },
  ];
  assert.equal(
    formatRevenue('buyer', rows, false),
    ['buyer      sold   gross  returned  credited     net', 'acme         41  902.00         2     44.00  858.00', 'beta, inc     3   30.00         0      0.00   30.00', 'TOTAL        44  932.00         2     44.00  888.00'].join('\n'),
  );
  assert.equal(formatRevenue('vendor', rows, true).split('\n')[2], '"beta, inc",3,30.00,0,0.00,30.00');
  assert.equal(parseSince('2d', Date.parse('2026-12-03T00:00:00Z')).toISOString(), '2026-12-01T00:00:00.000Z');
  assert.equal(parseSince('2026-12-01T09:00:00-06:00').toISOString(), '2026-12-01T15:00:00.000Z');
  assert.throws(() => parseSince('yesterday'), /not a time/);
});

test('hot reload: a rule may name a buyer group added in the same change (one topic serves every buyer)', () => {
  const warnings: unknown[] = [];
  const reload = routingReloader(parseRouterFile(shippedText, 'router.yaml'), { warn: (...a: unknown[]) => void warnings.push(a) } as never);
  const next = reload(withPrimary((d) => {
    d.primary.buyers['buyer-new'] = { url: 'http://127.0.0.1:4799/leads', price: 5 };
    d.primary.groups = { 'us-new': { method: 'weighted', buyers: [{ name: 'buyer-us', weight: 2 }, 'buyer-new'] } };
    d.routing.rules[1].then.primary = 'us-new';
  }), 'router.yaml');
  assert.equal(next.routing.rules[1]!.then.primary, 'us-new');
  assert.equal(next.primary!.groups['us-new']!.buyers[1]!.name, 'buyer-new');
  assert.deepEqual(warnings, [], 'buyers and groups reload: no restart asked for');
});

test('a vendor reading its lead sees who bought it, never the price or the credit', () => {
  const at = new Date(0);
  const base = { leadId: 'l', at, stage: 'sink-primary', destination: 'primary:acme', attempt: 0, fields: {} };
  const view = historyView('l', [
    { ...base, _id: '1', type: 'delivered', detail: 'sold at 22 (rule 1); buyer lead id A-9' },
    { ...base, _id: '2', type: 'returned', detail: 'reason fraud; credited 22; redistributed' },
  ], { masked: true });
  assert.deepEqual(view.events.map((e) => e.detail), ['sold; buyer lead id A-9', 'reason fraud; credited; redistributed']);
  assert.equal(historyView('l', [{ ...base, _id: '1', type: 'delivered', detail: 'sold at 22 (rule 1)' }]).events[0]!.detail, 'sold at 22 (rule 1)', 'operators see it');
});
