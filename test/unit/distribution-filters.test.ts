import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkFilters, filtersSchema, missingConsentEvidence } from '../../src/distribution/filters.js';
import type { LeadEvent } from '../../src/lead.js';

const NOW = Date.parse('2026-12-01T18:00:00Z');

function lead(over: { state?: string | null; category?: string | null; title?: string | null; email?: 'valid' | 'invalid' | 'risky' | 'unknown'; phoneType?: string | null; enriched?: boolean } & Partial<LeadEvent> = {}): LeadEvent {
  const { state = 'TX', category = 'Healthcare', title = 'Registered Nurse', email = 'valid', phoneType = 'MOBILE', enriched = true, ...rest } = over;
  return {
    leadId: '0190f5e2-0000-7000-8000-000000000001',
    receivedAt: NOW - 60_000,
    hops: ['ingest', 'enrich'],
    firstName: 'Jane',
    lastName: 'Doe',
    email: 'jane@example.com',
    phone: '+15125550100',
    zip: '73301',
    country: 'US',
    jobTitle: 'RN',
    source: 'jobs-board',
    vendor: 'acme-leads',
    consent: { sms: true, at: '2026-12-01T17:58:00Z', text: 'I agree to be contacted', ip: '203.0.113.9' },
    enrichment: enriched
      ? {
          name: { first: 'Jane', last: 'Doe' },
          email: { address: 'jane@example.com', status: email, reason: 'ok', source: 'local', suggestion: null },
          phone: { e164: '+15125550100', type: phoneType, valid: true, country: 'US', reason: null },
          timezone: { zone: 'America/Chicago', utcOffsetMinutes: -360, dst: true, state, city: 'Austin', reason: null },
          jobTitle: { raw: 'RN', canonical: title, category, score: 0.95 },
          enrichedAt: NOW - 59_000,
        }
      : null,
    delivery: null,
    rejection: null,
    deadLetter: null,
    ...rest,
  };
}

const filters = (raw: unknown) => ({ filters: filtersSchema.parse(raw) });

describe('checkFilters', () => {
  test('no filters: every lead', () => {
    assert.deepEqual(checkFilters({}, lead(), NOW), { ok: true });
    assert.deepEqual(checkFilters(filters({}), lead({ enriched: false }), NOW), { ok: true });
  });

  test('state, with the reason ops read', () => {
    const r = checkFilters(filters({ states: ['CA', 'NV'] }), lead(), NOW);
    assert.deepEqual(r, { ok: false, filter: 'state', detail: 'TX not in [CA, NV]', reason: 'filter state: TX not in [CA, NV]' });
    assert.deepEqual(checkFilters(filters({ states: ['ca', 'tx'] }), lead(), NOW), { ok: true });
  });

  test('case and spaces are ignored on both sides, one value or a list', () => {
    assert.deepEqual(checkFilters(filters({ jobCategories: ' healthcare ' }), lead(), NOW), { ok: true });
    assert.deepEqual(checkFilters(filters({ jobTitles: ['registered nurse'] }), lead({ title: 'Registered Nurse ' }), NOW), { ok: true });
    assert.deepEqual(checkFilters(filters({ phoneType: ['mobile', 'FIXED_LINE_OR_MOBILE'] }), lead(), NOW), { ok: true });
    assert.deepEqual(checkFilters(filters({ sources: 'JOBS-BOARD', vendors: ['Acme-Leads'] }), lead(), NOW), { ok: true });
  });

  test('each field fails with its own name', () => {
    const cases: [unknown, Parameters<typeof lead>[0], string][] = [
      [{ jobCategories: ['Retail'] }, {}, 'filter jobCategory: Healthcare not in [Retail]'],
      [{ jobTitles: ['Cashier'] }, {}, 'filter jobTitle: Registered Nurse not in [Cashier]'],
      [{ emailStatus: ['valid', 'risky'] }, { email: 'invalid' }, 'filter emailStatus: invalid not in [valid, risky]'],
      [{ phoneType: 'MOBILE' }, { phoneType: 'VOIP' }, 'filter phoneType: VOIP not in [MOBILE]'],
      [{ sources: ['app'] }, {}, 'filter source: jobs-board not in [app]'],
      [{ vendors: ['other'] }, {}, 'filter vendor: acme-leads not in [other]'],
    ];
    for (const [raw, over, reason] of cases) {
      const r = checkFilters(filters(raw), lead(over), NOW);
      assert.ok(!r.ok);
      assert.equal(r.reason, reason);
    }
  });

  test('a lead without the field fails a filter on it', () => {
    assert.equal((checkFilters(filters({ states: ['CA'] }), lead({ state: null }), NOW) as { reason: string }).reason, 'filter state: unknown not in [CA]');
    assert.equal((checkFilters(filters({ jobCategories: ['Healthcare'] }), lead({ enriched: false }), NOW) as { reason: string }).reason, 'filter jobCategory: unknown not in [Healthcare]');
  });

  test('the first failing filter in a fixed order is reported', () => {
    const r = checkFilters(filters({ vendors: ['x'], states: ['CA'] }), lead(), NOW);
    assert.ok(!r.ok);
    assert.equal(r.filter, 'state');
  });

  test('lead age since ingest', () => {
    const f = filters({ maxLeadAgeMs: 300_000 });
    assert.deepEqual(checkFilters(f, lead({ receivedAt: NOW - 300_000 }), NOW), { ok: true });
    const r = checkFilters(f, lead({ receivedAt: NOW - 600_000 }), NOW);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'filter age: 10min old, max 5min');
  });

  test('consent evidence: from the filter or from the buyer contract', () => {
    const bare = lead({ consent: { sms: true, at: '2026-12-01T17:58:00Z' } });
    assert.deepEqual(missingConsentEvidence(bare.consent), ['text', 'ip']);
    assert.deepEqual(missingConsentEvidence({ sms: false, at: 'yesterday', text: ' ', ip: null }), ['at', 'text', 'ip']);
    assert.deepEqual(checkFilters(filters({ requireConsentEvidence: true }), lead(), NOW), { ok: true });
    const r = checkFilters(filters({ requireConsentEvidence: true }), bare, NOW);
    assert.ok(!r.ok);
    assert.equal(r.reason, 'filter consent: no consent evidence (missing consent.text, consent.ip)');
    assert.equal(checkFilters({ requiresConsentEvidence: true }, bare, NOW).ok, false);
    assert.equal(checkFilters({ requiresConsentEvidence: false }, bare, NOW).ok, true);
  });
});

describe('filtersSchema', () => {
  test('every problem, with paths', () => {
    const r = filtersSchema.safeParse({ states: [], emailStatus: ['valid', 'bouncy'], maxLeadAgeMs: -1, zip: ['73301'] });
    assert.ok(!r.success);
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(lines.some((l) => l.startsWith('states') && l.includes('empty list')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('emailStatus') && l.includes('valid, invalid, risky, unknown')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('maxLeadAgeMs')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('zip')), lines.join('\n'));
  });

  test('one value becomes a list', () => {
    assert.deepEqual(filtersSchema.parse({ states: 'CA' }).states, ['CA']);
  });
});
