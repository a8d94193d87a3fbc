import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePrice, priceForLead, priceSchema, settlePrice } from '../../src/distribution/pricing.js';
import { interpretResponse, responseMappingSchema } from '../../src/distribution/response.js';
import type { LeadEvent } from '../../src/lead.js';

function lead(state: string | null, title: string | null, source = 'jobs-board'): LeadEvent {
  return {
    source,
    vendor: 'acme-leads',
    enrichment: { timezone: { state }, jobTitle: { canonical: title, category: title ? 'Healthcare' : null }, email: { status: 'valid' }, phone: { type: 'MOBILE' } },
  } as unknown as LeadEvent;
}

const tiered = priceSchema.parse({
  rules: [
    { when: { states: ['CA'], jobTitles: 'Registered Nurse' }, price: 30 },
    { when: { jobTitles: ['registered nurse', 'LPN'] }, price: 22 },
    { when: { sources: 'app' }, price: 12.5 },
  ],
  default: 6,
});

describe('priceForLead', () => {
  test('fixed', () => {
    assert.deepEqual(priceForLead(priceSchema.parse(15), lead('TX', null)), { amount: 15, source: 'fixed' });
  });

  test('the first matching rule sets the price; default for the rest', () => {
    assert.deepEqual(priceForLead(tiered, lead('CA', 'Registered Nurse')), { amount: 30, source: 'rule 0' });
    assert.deepEqual(priceForLead(tiered, lead('TX', 'Registered Nurse')), { amount: 22, source: 'rule 1' });
    assert.deepEqual(priceForLead(tiered, lead('ca', 'registered NURSE')), { amount: 30, source: 'rule 0' }, 'case ignored');
    assert.deepEqual(priceForLead(tiered, lead('TX', 'Cashier', 'app')), { amount: 12.5, source: 'rule 2' });
    assert.deepEqual(priceForLead(tiered, lead(null, null)), { amount: 6, source: 'default' });
  });

  test('no price configured', () => {
    assert.equal(priceForLead(undefined, lead('TX', null)), null);
  });

  test('schema: a rule needs a condition, prices are ≥ 0', () => {
    const r = priceSchema.safeParse({ rules: [{ when: {}, price: 3 }, { when: { states: 'CA' }, price: -1 }], default: 2 });
    assert.ok(!r.success);
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(lines.some((l) => l.startsWith('rules.0.when: a price rule needs at least one condition')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('rules.1.price')), lines.join('\n'));
    assert.ok(!priceSchema.safeParse('cheap').success);
  });
});

describe('prices from replies', () => {
  test('parsePrice reads what buyers write, and nothing else', () => {
    assert.equal(parsePrice(12.5), 12.5);
    assert.equal(parsePrice('12.50'), 12.5);
    assert.equal(parsePrice('$ 7'), 7);
    assert.equal(parsePrice('1,250.00'), 1250);
    for (const bad of [-1, Number.NaN, 'free', '', '12.5.1', null, undefined, {}, '1'.repeat(40)]) assert.equal(parsePrice(bad), null, String(bad));
  });

  test('the reply price wins over the bid, the bid over the configured price', () => {
    const configured = { amount: 8, source: 'default' };
    assert.deepEqual(settlePrice({ replied: 9.75, bid: 14, configured }), { amount: 9.75, source: 'reply' });
    assert.deepEqual(settlePrice({ replied: null, bid: 14, configured }), { amount: 14, source: 'bid' });
    assert.deepEqual(settlePrice({ configured }), configured);
    assert.equal(settlePrice({}), null);
  });

  test('end to end: a mapped reply price settles the delivery', () => {
    const mapping = responseMappingSchema.parse({ accepted: { json: 'ok', equals: true }, price: { json: 'charged' } });
    const verdict = interpretResponse(mapping, 200, 'application/json', '{"ok":true,"charged":"$18.00"}');
    assert.ok(verdict.accepted);
    assert.deepEqual(settlePrice({ replied: verdict.price, configured: priceForLead(tiered, lead('TX', 'LPN')) }), { amount: 18, source: 'reply' });
    const unreadable = interpretResponse(mapping, 200, 'application/json', '{"ok":true,"charged":"n/a"}');
    assert.ok(unreadable.accepted && unreadable.price === undefined, 'an unreadable price falls back to the configured one');
  });
});
