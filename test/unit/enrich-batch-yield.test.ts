/**
 * A batch of junk job titles must not hold the event loop: the enricher yields between leads, so
 * timers (the Kafka consumer's heartbeat among them) get their turn. Checked by counting, not by
 * timing: a setImmediate chain ticks once per event-loop turn, and the enricher's clock records
 * the tick count as each lead starts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Lead } from '../../src/lead.js';
import { Abandoned } from '../../src/errors.js';
import { createEnricher } from '../../src/processors/enrich/index.js';
import { createJobTitleNormalizer } from '../../src/processors/enrich/job-title.js';

const NOW = new Date('2025-07-15T15:00:00Z');

/** Deterministic junk: six random "words" per title, all different (so no cache hit helps). */
function junkTitles(count: number): string[] {
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const word = () => Array.from({ length: 4 + Math.floor(next() * 8) }, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(next() * 26)]).join('');
  return Array.from({ length: count }, (_, i) => `${Array.from({ length: 6 }, word).join(' ')} ${i}`);
}

function lead(i: number, jobTitle: string): Lead {
  return {
    leadId: `01890000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    receivedAt: NOW.getTime(),
    hops: [],
    enrichment: null,
    firstName: 'maria',
    lastName: 'cruz',
    email: 'maria@example.org',
    phone: '(415) 555-2671',
    zip: '60601',
    country: 'US',
    jobTitle,
    source: 'test',
    vendor: 'test-vendor',
    consent: { sms: true, at: NOW.toISOString() },
  };
}

describe('enrichBatch and the event loop', () => {
  it('lets an event-loop turn pass between every two leads of a 500-lead junk batch', async (t) => {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    const turnsAtLeadStart: number[] = [];
    const enricher = createEnricher({
      now: () => {
        turnsAtLeadStart.push(turns); // enrich() reads the clock once, as it starts a lead
        return NOW;
      },
    });
    const titles = junkTitles(500);
    setImmediate(tick);
    const started = performance.now();
    const results = await enricher.enrichBatch(titles.map((title, i) => lead(i, title)));
    const elapsed = performance.now() - started;
    running = false;
    await enricher.close();

    assert.equal(results.length, 500);
    results.forEach((r, i) => assert.equal(r.jobTitle.raw, titles[i], 'results in input order'));
    assert.ok(results.every((r) => r.jobTitle.canonical === null), 'junk gets no guess');
    assert.equal(turnsAtLeadStart.length, 500);
    assert.ok(turns > 0, 'setImmediate callbacks ran during the batch');
    for (let i = 1; i < turnsAtLeadStart.length; i++) {
      assert.ok(turnsAtLeadStart[i]! > turnsAtLeadStart[i - 1]!, `an event-loop turn passed between lead ${i - 1} and lead ${i}`);
    }
    t.diagnostic(`500 junk titles: ${elapsed.toFixed(0)} ms, ${turns} event-loop turns during the batch`);
  });

  it('costs a few milliseconds at most per unique junk title (measured, reported, not asserted)', (t) => {
    const normalizer = createJobTitleNormalizer();
    const titles = junkTitles(200);
    normalizer.normalize('warm up the matcher');
    const started = performance.now();
    for (const title of titles) assert.equal(normalizer.normalize(title).canonical, null);
    t.diagnostic(`per unique junk title: ${((performance.now() - started) / titles.length).toFixed(2)} ms`);
  });
});

describe('enrichBatch and a rebalance', () => {
  it('stops between leads with Abandoned once told the group is rebalancing', async () => {
    const enricher = createEnricher({ now: () => NOW });
    let started = 0;
    const leads = junkTitles(200).map((title, i) => lead(i, title));
    await assert.rejects(
      enricher.enrichBatch(leads, () => ++started > 10),
      (err: Error) => err instanceof Abandoned,
    );
    assert.equal(started, 11, 'asked once per lead, stopped at the first yes');
    // Not told: the whole batch.
    assert.equal((await enricher.enrichBatch(leads.slice(0, 20), () => false)).length, 20);
  });
});
