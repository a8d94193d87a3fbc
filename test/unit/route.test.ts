import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import YAML from 'yaml';
import type { LeadEvent } from '../../src/lead.js';
import { decideRoute, explainRoute, type RoutingConfig } from '../../src/processors/route/route.js';
import { checkRoutingReferences, routingSchema, ruleSchema } from '../../src/processors/route/rules-schema.js';
import { parseRouterFile, routerFileSchema } from '../../src/config.js';
import { enrichment, leadEvent, shippedRouterConfig } from '../support/fixtures.js';

const config = shippedRouterConfig();

test('a US lead with SMS consent goes to the US buyer, the first US provider (others as fallback) and search', () => {
  const d = decideRoute(leadEvent(), config);
  assert.equal(d.kind, 'routed');
  if (d.kind !== 'routed') return;
  assert.equal(d.rule, 'us');
  assert.deepEqual(
    d.deliveries.map((x) => [x.destination, x.fallbacks]),
    [
      ['primary:buyer-us', []],
      ['sms:twilio', ['sms:eurosms']],
      ['search:leads', []],
    ],
  );
  assert.equal(d.deliveries[1]!.key, '+14155550132', 'SMS records are keyed by phone so one person stays on one partition');
});

test('a UK lead takes the UK path: UK buyer, UK-capable SMS provider only', () => {
  const d = decideRoute(leadEvent({ country: 'GB', zip: null, postcode: 'SW1A 1AA', enrichment: enrichment({ phone: { e164: '+447911123456', type: 'MOBILE', valid: true, country: 'GB', reason: null } }) }), config);
  assert.equal(d.kind, 'routed');
  if (d.kind !== 'routed') return;
  assert.equal(d.rule, 'uk');
  assert.deepEqual(d.deliveries.map((x) => x.destination), ['primary:buyer-uk', 'sms:eurosms', 'search:leads']);
});

test('no SMS without consent, or without a textable phone; the reason is kept', () => {
  const noConsent = decideRoute(leadEvent({ consent: { sms: false, email: null, at: '2026-01-01T00:00:00Z', text: null, ip: null } }), config);
  assert.ok(noConsent.kind === 'routed' && !noConsent.deliveries.some((x) => x.kind === 'sms'));
  assert.ok(noConsent.kind === 'routed' && noConsent.skipped[0]?.includes('consent'));
  const badPhone = decideRoute(leadEvent({ enrichment: enrichment({ phone: { e164: null, type: null, valid: false, country: null, reason: 'too_short' } }) }), config);
  assert.ok(badPhone.kind === 'routed' && !badPhone.deliveries.some((x) => x.kind === 'sms'));
  assert.ok(badPhone.kind === 'routed' && badPhone.skipped[0]?.includes('too_short'));
});

test('loop guard: the router or one of its destinations as source, or vendor, is rejected', () => {
  for (const source of ['lead-router', 'Buyer-US', 'twilio']) {
    const d = decideRoute(leadEvent({ source }), config);
    assert.equal(d.kind, 'rejected', source);
    assert.match(d.kind === 'rejected' ? d.reason : '', /loop guard/);
  }
  assert.equal(decideRoute(leadEvent({ vendor: 'eurosms' }), config).kind, 'rejected');
});

test('loop guard: too many hops, or a lead that was already routed, is rejected', () => {
  const many = decideRoute(leadEvent({ hops: Array.from({ length: 13 }, (_, i) => `h${i}`) }), config);
  assert.match(many.kind === 'rejected' ? many.reason : '', /13 hops/);
  const again = decideRoute(leadEvent({ hops: ['ingest', 'enrich', 'route', 'ingest', 'enrich'] }), config);
  assert.match(again.kind === 'rejected' ? again.reason : '', /already routed/);
});

test('first matching rule wins; conditions on source and vendor are case-insensitive', () => {
  const custom = {
    ...config,
    routing: {
      ...config.routing,
      rules: [
        { name: 'vip', when: { source: ['Partner-X'], vendor: 'acme-leads' }, then: { primary: 'buyer-uk', sms: [], search: false } },
        ...config.routing.rules,
      ],
    },
  };
  const d = decideRoute(leadEvent({ source: 'partner-x' }), custom);
  assert.ok(d.kind === 'routed' && d.rule === 'vip');
  assert.deepEqual(d.kind === 'routed' && d.deliveries.map((x) => x.destination), ['primary:buyer-uk']);
  const other = decideRoute(leadEvent({ source: 'partner-y' }), custom);
  assert.ok(other.kind === 'routed' && other.rule === 'us');
});

// ---- declarative rules: conditions, lists, case, negation, priority ----------------------------

/** The shipped destinations with these rules (through the schema, so defaults apply). */
function withRules(rules: unknown[]): RoutingConfig {
  return { ...config, routing: routingSchema.parse({ ...config.routing, rules }) };
}

/** `special` when the condition holds, else the catch-all `default`. */
function ruleFor(when: Record<string, unknown>): RoutingConfig {
  return withRules([
    { name: 'special', when, then: { primary: 'buyer-uk', sms: [], search: false } },
    { name: 'default', then: { primary: 'buyer-us' } },
  ]);
}

function ruleOf(lead: LeadEvent, cfg: RoutingConfig): string {
  const d = decideRoute(lead, cfg);
  return d.kind === 'routed' ? d.rule : `rejected: ${d.reason}`;
}

const base = enrichment();
const ukLead = (over: Partial<LeadEvent> = {}) =>
  leadEvent({ country: 'GB', zip: null, postcode: 'SW1A 1AA', enrichment: enrichment({ phone: { e164: '+447911123456', type: 'MOBILE', valid: true, country: 'GB', reason: null } }), ...over });

// [condition, value that matches the fixture lead (odd case on purpose), a lead it does not match]
const conditionCases: [string, unknown, LeadEvent][] = [
  ['market', 'us', ukLead()],
  ['source', 'JOBS-BOARD', leadEvent({ source: 'other-board' })],
  ['vendor', 'Acme-Leads', leadEvent({ vendor: 'zenith' })],
  ['country', 'us', ukLead()],
  ['state', 'ca', leadEvent({ enrichment: enrichment({ timezone: { ...base.timezone, state: 'TX' } }) })],
  ['jobCategory', 'HEALTHCARE', leadEvent({ enrichment: enrichment({ jobTitle: { ...base.jobTitle, category: 'Retail' } }) })],
  ['jobTitle', 'certified nursing ASSISTANT', leadEvent({ enrichment: enrichment({ jobTitle: { ...base.jobTitle, canonical: 'Cashier' } }) })],
  ['emailStatus', 'VALID', leadEvent({ enrichment: enrichment({ email: { ...base.email, status: 'invalid' } }) })],
  ['phoneType', 'fixed_line_or_mobile', leadEvent({ enrichment: enrichment({ phone: { ...base.phone, type: 'VOIP' } }) })],
  ['smsConsent', true, leadEvent({ consent: { sms: false, email: null, at: '2026-01-01T00:00:00Z', text: null, ip: null } })],
];

for (const [key, value, other] of conditionCases) {
  test(`condition ${key}: matches ignoring case, alone or in a list; a lead without it falls through`, () => {
    assert.equal(ruleOf(leadEvent(), ruleFor({ [key]: value })), 'special', `${key}: ${String(value)}`);
    assert.equal(ruleOf(other, ruleFor({ [key]: value })), 'default', `${key} must not match the other lead`);
    if (typeof value === 'string') {
      // Enumerated conditions only take their own values.
      const miss = key === 'market' ? 'UK' : key === 'emailStatus' ? 'risky' : 'no-such-value';
      assert.equal(ruleOf(leadEvent(), ruleFor({ [key]: [miss, value] })), 'special', 'any value of a list matches');
      assert.equal(ruleOf(leadEvent(), ruleFor({ [key]: [miss] })), 'default');
    }
  });
}

test('conditions are AND-ed: one failing condition is enough to fall through', () => {
  assert.equal(ruleOf(leadEvent(), ruleFor({ market: 'US', state: 'CA', jobCategory: 'Healthcare' })), 'special');
  assert.equal(ruleOf(leadEvent(), ruleFor({ market: 'US', state: 'CA', jobCategory: 'Retail' })), 'default');
});

test('a lead without enrichment never matches a condition on enriched fields, but does match its negation', () => {
  const bare = leadEvent({ enrichment: null });
  for (const when of [{ state: 'CA' }, { jobCategory: 'Healthcare' }, { jobTitle: 'Certified Nursing Assistant' }, { emailStatus: 'unknown' }, { phoneType: 'MOBILE' }]) {
    assert.equal(ruleOf(bare, ruleFor(when)), 'default', JSON.stringify(when));
  }
  assert.equal(ruleOf(bare, ruleFor({ not: { emailStatus: 'invalid' } })), 'special');
});

test('not: excludes leads matching every condition inside it', () => {
  const cfg = ruleFor({ market: 'US', not: { state: ['TX', 'ny'] } });
  assert.equal(ruleOf(leadEvent(), cfg), 'special', 'CA is not excluded');
  assert.equal(ruleOf(leadEvent({ enrichment: enrichment({ timezone: { ...base.timezone, state: 'NY' } }) }), cfg), 'default');
  const both = ruleFor({ not: { state: 'CA', emailStatus: 'invalid' } });
  assert.equal(ruleOf(leadEvent(), both), 'special', 'a CA lead with a valid email is not excluded: not() needs all its conditions');
  assert.equal(ruleOf(leadEvent({ enrichment: enrichment({ email: { ...base.email, status: 'invalid' } }) }), both), 'default');
});

test('country "UK" in a rule means GB, as at ingest', () => {
  assert.equal(ruleOf(ukLead(), ruleFor({ country: 'UK' })), 'special');
  assert.equal(ruleOf(ukLead(), ruleFor({ country: ['gb'] })), 'special');
  assert.equal(ruleOf(leadEvent(), ruleFor({ country: 'UK' })), 'default');
});

test('priority: higher first whatever the file order; equal priorities keep file order; default 0', () => {
  const then = { primary: 'buyer-us' };
  const cfg = withRules([
    { name: 'low', priority: -5, then },
    { name: 'plain-a', then },
    { name: 'plain-b', then },
    { name: 'state-ca', priority: 10, when: { state: 'CA' }, then },
    { name: 'top-but-tx', priority: 20, when: { state: 'TX' }, then },
  ]);
  assert.equal(ruleOf(leadEvent(), cfg), 'state-ca');
  assert.equal(ruleOf(leadEvent({ enrichment: enrichment({ timezone: { ...base.timezone, state: 'TX' } }) }), cfg), 'top-but-tx');
  assert.equal(ruleOf(leadEvent({ enrichment: enrichment({ timezone: { ...base.timezone, state: 'WA' } }) }), cfg), 'plain-a', 'ties keep file order; -5 comes after the 0s');
  const onlyLow = withRules([{ name: 'b', when: { state: 'WA' }, then }, { name: 'low', priority: -1, then }, { name: 'zero', when: { state: 'WA' }, then }]);
  assert.equal(ruleOf(leadEvent(), onlyLow), 'low');
});

test('UK path with a custom rule: only providers serving UK text, the UK buyer gets the lead', () => {
  const cfg = withRules([
    { name: 'uk-health', when: { market: 'uk', jobCategory: 'healthcare' }, then: { primary: 'buyer-uk', sms: ['twilio', 'eurosms'] } },
    { name: 'uk-twilio-only', when: { market: 'UK' }, then: { primary: 'buyer-uk', sms: ['twilio'] } },
  ]);
  const d = decideRoute(ukLead(), cfg);
  assert.ok(d.kind === 'routed' && d.rule === 'uk-health');
  assert.deepEqual(d.kind === 'routed' && d.deliveries.map((x) => [x.destination, x.fallbacks, x.key]), [
    ['primary:buyer-uk', [], leadEvent().leadId],
    ['sms:eurosms', [], '+447911123456'],
    ['search:leads', [], leadEvent().leadId],
  ]);
  const retail = decideRoute(ukLead({ enrichment: enrichment({ phone: { e164: '+447911123456', type: 'MOBILE', valid: true, country: 'GB', reason: null }, jobTitle: { ...base.jobTitle, category: 'Retail' } }) }), cfg);
  assert.ok(retail.kind === 'routed' && retail.rule === 'uk-twilio-only');
  assert.ok(retail.kind === 'routed' && !retail.deliveries.some((x) => x.kind === 'sms'));
  assert.deepEqual(retail.kind === 'routed' && retail.skipped, ['sms: no provider serves market UK']);
  assert.equal(ruleOf(leadEvent(), cfg), `rejected: no routing rule matches (market US, source jobs-board)`);
});

test('no hidden SMS special cases: an invalid email is still texted unless a rule says otherwise', () => {
  const badEmail = leadEvent({ enrichment: enrichment({ email: { ...base.email, status: 'invalid' } }) });
  const shipped = decideRoute(badEmail, config);
  assert.deepEqual(shipped.kind === 'routed' && shipped.deliveries.map((x) => x.destination), ['primary:buyer-us', 'sms:twilio', 'search:leads']);
  const cfg = withRules([
    ...config.routing.rules,
    { name: 'us-bad-email', priority: 10, when: { market: 'US', emailStatus: ['invalid', 'risky'] }, then: { primary: 'buyer-us', sms: [] } },
  ]);
  const d = decideRoute(badEmail, cfg);
  assert.ok(d.kind === 'routed' && d.rule === 'us-bad-email');
  assert.deepEqual(d.kind === 'routed' && d.deliveries.map((x) => x.destination), ['primary:buyer-us', 'search:leads']);
  assert.equal(ruleOf(leadEvent(), cfg), 'us', 'a valid email still takes the normal US rule');
});

test('explainRoute lists the rules tried in order with the conditions that failed', () => {
  const cfg = withRules([
    { name: 'a', when: { market: 'US', state: ['NY', 'NJ'] }, then: { primary: 'buyer-us' } },
    { name: 'b', priority: 5, when: { smsConsent: false }, then: { primary: 'buyer-us' } },
    { name: 'c', when: { not: { vendor: 'ACME-LEADS' } }, then: { primary: 'buyer-us' } },
    { name: 'd', then: { primary: 'buyer-us' } },
    { name: 'e', then: { primary: 'buyer-us' } },
  ]);
  const x = explainRoute(leadEvent(), cfg);
  assert.equal(x.loopGuard, null);
  assert.deepEqual(x.rules.map((r) => [r.rule, r.priority, r.matched]), [['b', 5, false], ['a', 0, false], ['c', 0, false], ['d', 0, true]]);
  assert.deepEqual(x.rules[0]!.failed, ['smsConsent: wants false, lead has true']);
  assert.deepEqual(x.rules[1]!.failed, ['state: wants NY|NJ, lead has ca']);
  assert.match(x.rules[2]!.failed[0] ?? '', /^not: lead matches .*ACME-LEADS/);
  assert.match(explainRoute(leadEvent({ source: 'lead-router' }), cfg).loopGuard ?? '', /loop guard/);
});

// ---- the schema ops edit ---------------------------------------------------------------------

function routingErrors(rules: unknown[]): string[] {
  const r = routingSchema.safeParse({ rules });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('schema: unknown condition names are rejected with a readable message (and a hint for a near miss)', () => {
  const errs = routingErrors([{ name: 'r', when: { colour: 'red', State: 'CA' }, then: {} }]);
  assert.equal(errs.length, 1, errs.join('\n'));
  assert.match(errs[0]!, /^rules\.0\.when: unknown condition "colour"; unknown condition "State" \(did you mean "state"\?\); conditions are: market, source/);
  assert.match(routingErrors([{ name: 'r', when: { not: { job_category: 'x' } }, then: {} }])[0] ?? '', /rules\.0\.when\.not: unknown condition "job_category" \(did you mean "jobCategory"\?\)/);
  assert.match(routingErrors([{ name: 'r', when: {}, then: { primary: null, text: true } }])[0] ?? '', /rules\.0\.then: Unrecognized key: "text"/);
});

test('schema: values are checked (enumerations ignoring case, lists non-empty, not non-empty, types)', () => {
  const one = (when: unknown) => routingErrors([{ name: 'r', when, then: {} }]);
  assert.deepEqual(one({ market: 'uk', emailStatus: ['Valid', 'RISKY'], smsConsent: false }), []);
  assert.deepEqual(one({ market: 'FR' }), ['rules.0.when.market: "FR" is not one of US, UK']);
  assert.deepEqual(one({ emailStatus: ['valid', 'bounced'] }), ['rules.0.when.emailStatus.1: "bounced" is not one of valid, invalid, risky, unknown']);
  assert.deepEqual(one({ state: [] }), ['rules.0.when.state: an empty list never matches: remove the condition instead']);
  assert.deepEqual(one({ state: 6 }), ['rules.0.when.state: expected a state code, or a list of them']);
  assert.deepEqual(one({ smsConsent: 'yes' }), ['rules.0.when.smsConsent: expected true or false']);
  assert.deepEqual(one({ not: {} }), ['rules.0.when.not: "not" needs at least one condition']);
  assert.deepEqual(routingErrors([{ name: 'r', priority: 'high', then: {} }]).length, 1);
});

test('schema: defaults, and duplicate rule names are refused', () => {
  const parsed = routingSchema.parse({ rules: [{ name: 'all', then: {} }] });
  assert.deepEqual(parsed, { selfSources: ['lead-router'], maxHops: 12, rules: [{ name: 'all', when: {}, then: { primary: null, sms: [], search: true } }] });
  assert.deepEqual(routingErrors([{ name: 'x', then: {} }, { name: 'y', then: {} }, { name: 'x', then: {} }]), ['rules.2.name: duplicate rule name "x" (also rules.0)']);
  assert.equal(routingErrors([]).length, 1, 'at least one rule');
});

test('checkRoutingReferences: unknown buyers and providers, with the path from the file root', () => {
  const routing = routingSchema.parse({ rules: [{ name: 'ok', then: { primary: 'b1', sms: ['p1'] } }, { name: 'bad', then: { primary: 'nope', sms: ['p1', 'ghost'] } }] });
  assert.deepEqual(checkRoutingReferences(routing, ['b1'], new Set(['p1'])), [
    { path: ['routing', 'rules', 1, 'then', 'primary'], message: 'unknown buyer "nope"' },
    { path: ['routing', 'rules', 1, 'then', 'sms', 1], message: 'unknown SMS provider "ghost"' },
  ]);
  assert.deepEqual(checkRoutingReferences(routing, ['b1', 'nope'], ['p1', 'ghost']), []);
});

test('the shipped routing section and the example rule documented in router.yaml validate with the rules schema', () => {
  const text = fs.readFileSync('config/router.yaml', 'utf8');
  const shipped = routingSchema.parse((YAML.parse(text) as { routing: unknown }).routing);
  assert.deepEqual(shipped.rules.map((r) => r.name), ['uk', 'us']);
  // The commented example: from "#   - name:" to the first bare "#" line, uncommented.
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^\s*#\s+- name: /.test(l));
  assert.ok(start > 0, 'router.yaml documents an example rule');
  const end = lines.findIndex((l, i) => i > start && /^\s*#\s*$/.test(l));
  const example = lines.slice(start, end).map((l) => l.replace(/^\s*# ?/, '')).join('\n');
  const rules = YAML.parse(example) as unknown[];
  const rule = ruleSchema.parse(rules[0]);
  assert.deepEqual(Object.keys(rule.when).sort(), ['country', 'emailStatus', 'jobCategory', 'jobTitle', 'market', 'not', 'phoneType', 'smsConsent', 'source', 'state', 'vendor']);
  assert.deepEqual(checkRoutingReferences({ rules: [rule] }, Object.keys(config.primary.buyers), Object.keys(config.sms.providers)), []);
});

// Runs once src/config.ts composes routingSchema (skipped before that change lands).
const composed = (routerFileSchema.shape.routing as unknown) === routingSchema;
test('the router file uses the rules schema: new conditions load, typos fail with a readable path', { skip: !composed && 'src/config.ts does not compose routingSchema yet' }, () => {
  const text = fs.readFileSync('config/router.yaml', 'utf8');
  const doc = YAML.parseDocument(text);
  doc.setIn(['routing', 'rules', 1, 'when'], { market: 'US', state: ['CA'], not: { emailStatus: 'invalid' } });
  doc.setIn(['routing', 'rules', 1, 'priority'], 3);
  const file = parseRouterFile(doc.toString(), 'router.yaml');
  assert.deepEqual(file.routing.rules[1], { name: 'us', priority: 3, when: { market: 'US', state: ['CA'], not: { emailStatus: 'invalid' } }, then: { primary: 'buyer-us', sms: ['twilio', 'eurosms'], search: true } });
  doc.setIn(['routing', 'rules', 1, 'when'], { market: 'US', jobcategory: 'Healthcare' });
  assert.throws(() => parseRouterFile(doc.toString(), 'router.yaml'), /routing\.rules\.1\.when: unknown condition "jobcategory" \(did you mean "jobCategory"\?\)/);
});
