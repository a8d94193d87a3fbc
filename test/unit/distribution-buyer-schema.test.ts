import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { DistributionConfigError, distributionBuyerSchema, parseDistribution } from '../../src/distribution/buyer-schema.js';
import { priceForLead } from '../../src/distribution/pricing.js';

const EXAMPLE = `
buyers:
  tx-health:
    url: https://buyer.example.com/leads
    timeoutMs: 2000
    headers: { x-api-key: secret }
    timezone: America/Chicago
    schedule:
      mon: [["09:00", "17:00"]]
      tue: [["09:00", "17:00"]]
      wed: [["09:00", "17:00"]]
      thu: [["09:00", "17:00"]]
      fri: [["09:00", "12:00"], ["13:00", "17:00"]]
      holidays: [2026-12-25, 2027-01-01]
    caps: { hour: 20, day: 100, week: 400, month: 1500 }
    filters:
      states: [TX, OK]
      jobCategories: Healthcare
      emailStatus: [valid, risky]
      maxLeadAgeMs: 900000
    price:
      rules:
        - { when: { jobTitles: Registered Nurse }, price: 22 }
      default: 8
    response:
      accepted: { json: result.status, equals: accepted }
      leadId: { json: result.id }
      reason: { json: result.message }
    ping: { url: https://buyer.example.com/ping }
    requiresConsentEvidence: true
  fallback:
    url: http://127.0.0.1:4701/leads
    price: 5
groups:
  us-nurses:
    method: auction
    buyers: [tx-health, fallback]
    deadlineMs: 30000
  us-shared:
    method: weighted
    buyers: [{ name: tx-health, weight: 3 }, fallback]
    maxBuyers: 2
    redistributeOnReturn: true
`;

describe('distribution config', () => {
  test('a full example validates, with defaults filled in', () => {
    const d = parseDistribution(YAML.parse(EXAMPLE));
    const tx = d.buyers['tx-health']!;
    assert.equal(tx.concurrency, 64);
    assert.equal(tx.ping?.timeoutMs, 300);
    assert.deepEqual(tx.filters?.jobCategories, ['Healthcare']);
    assert.equal(tx.filters?.requireConsentEvidence, false);
    assert.deepEqual(tx.schedule?.holidays, ['2026-12-25', '2027-01-01']);
    assert.equal(d.buyers.fallback!.requiresConsentEvidence, false);
    assert.deepEqual(d.groups['us-nurses'], { method: 'auction', buyers: [{ name: 'tx-health', weight: 1 }, { name: 'fallback', weight: 1 }], maxBuyers: 1, deadlineMs: 30_000, bidWindowMs: 300, redistributeOnReturn: false, returnWindowDays: 14 });
    assert.deepEqual(d.groups['us-shared']!.buyers, [{ name: 'tx-health', weight: 3 }, { name: 'fallback', weight: 1 }]);
    assert.equal(priceForLead(tx.price, { enrichment: null, source: 's', vendor: 'v' } as never)?.amount, 8);
  });

  test("today's primary.buyers entries validate unchanged", () => {
    const b = distributionBuyerSchema.parse({ url: 'http://127.0.0.1:4701/leads', timeoutMs: 3000 });
    assert.deepEqual(b, { url: 'http://127.0.0.1:4701/leads', timeoutMs: 3000, concurrency: 64, headers: {}, allowInsecure: false, requiresConsentEvidence: false });
    const signed = distributionBuyerSchema.parse({ url: 'https://buyer.example.com/leads', secret: 'whsec_fAmViVkAFqf/s3GZRkcCyJViWH5YaXIw', allowInsecure: false });
    assert.equal(signed.secret, 'whsec_fAmViVkAFqf/s3GZRkcCyJViWH5YaXIw');
  });

  test('every problem is listed at once, path and message', () => {
    const raw = {
      buyers: {
        a: { url: 'not a url', timezone: 'America/Chicgo', caps: { day: 0 } },
        b: { url: 'http://127.0.0.1:1/x', schedule: { mon: [['09:00', '17:00']] }, caps: { day: 10, total: 5 } },
        c: { url: 'http://127.0.0.1:1/x', capz: { day: 1 }, response: { accepted: { regex: '(?=x)' } } },
        d: { url: 'http://127.0.0.1:1/x' },
      },
      groups: {
        g1: { method: 'auction', buyers: ['d', 'ghost', 'd'], maxBuyers: 4 },
        g2: { method: 'lottery', buyers: [] },
      },
    };
    let error: unknown;
    try {
      parseDistribution(raw, 'config/router.yaml distribution');
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof DistributionConfigError);
    const expected = [
      'buyers.a.url: Invalid URL',
      'buyers.a.timezone: "America/Chicgo" is not an IANA time zone (e.g. America/Chicago)',
      'buyers.a.caps.day: ',
      'buyers.b.timezone: required with schedule, caps.day',
      'buyers.c: ',
      'buyers.c.response.accepted.0.regex: invalid regex',
      'groups.g1.buyers.2: "d" is listed twice (also buyers.0)',
      'groups.g1.maxBuyers: 4 but the group has 3 buyer(s)',
      'groups.g1.buyers.0: auction: "d" has neither a ping (to bid) nor a price (a standing bid)',
      'groups.g1.buyers.1: unknown buyer "ghost"',
      'groups.g2.method: ',
      'groups.g2.buyers: ',
    ];
    for (const line of expected) assert.ok(error.problems.some((p) => p.startsWith(line)), `missing "${line}" in:\n${error.message}`);
    assert.ok(error.problems.some((p) => p.startsWith('buyers.c') && p.includes('capz')), error.message);
    assert.match(error.message, /^config\/router.yaml distribution:\n {2}- /);
  });
});
