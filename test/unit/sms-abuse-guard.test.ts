/**
 * The SMS abuse guard on real numbers: each one is enriched by the real phone enricher
 * (libphonenumber-js max metadata), then judged for a US or a UK lead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Market, PhoneEnrichment } from '../../src/lead.js';
import { enrichPhone } from '../../src/processors/enrich/phone.js';
import { smsAbuseGuard } from '../../src/sinks/sms/abuse-guard.js';

function judge(market: Market, raw: string) {
  const phone = enrichPhone(raw, market === 'UK' ? 'GB' : 'US');
  return { phone, decision: smsAbuseGuard(market, phone) };
}

function assertRefused(market: Market, raw: string, code: string, reason: RegExp): void {
  const { phone, decision } = judge(market, raw);
  assert.equal(decision.allowed, false, `${raw} for a ${market} lead (${phone.type}, ${phone.country})`);
  if (decision.allowed) return;
  assert.equal(decision.code, code, raw);
  assert.match(decision.reason, reason, raw);
  // Reasons go to logs and history: never the number, not even most of its digits.
  assert.doesNotMatch(decision.reason, /\d{4,}/, decision.reason);
}

describe('SMS abuse guard', () => {
  it('texts mobile-capable numbers of the US and its NANP territories for a US lead', () => {
    const home = [
      ['(415) 555-0132', 'US'],
      ['+1 212 736 5000', 'US'],
      ['415.555.0132', 'US'],
      ['+1 787 234 5678', 'PR'],
      ['+1 340 712 3456', 'VI'],
      ['+1 671 300 1234', 'GU'],
      ['+1 684 733 1234', 'AS'],
      ['+1 670 234 5678', 'MP'],
    ];
    for (const [raw, country] of home) {
      const { phone, decision } = judge('US', raw!);
      assert.equal(phone.country, country, raw);
      assert.deepEqual(decision, { allowed: true }, raw);
    }
  });

  it('texts GB mobiles, and the Crown Dependencies that share UK numbering, for a UK lead', () => {
    for (const [raw, country] of [['07400 123456', 'GB'], ['+44 7975 777666', 'GB'], ['07911 123456', 'GG'], ['+44 7797 123456', 'JE'], ['+44 7624 123456', 'IM']]) {
      const { phone, decision } = judge('UK', raw!);
      assert.deepEqual([phone.type, phone.country], ['MOBILE', country], raw);
      assert.deepEqual(decision, { allowed: true }, raw);
    }
  });

  it('the enricher types premium-rate numbers as PREMIUM_RATE, and they are never texted', () => {
    for (const [market, raw] of [['US', '+1 900 234 5678'], ['US', '1-900-555-0199'], ['UK', '0909 879 0000'], ['UK', '+44 871 984 6000'], ['US', '+44 909 879 0000']] as const) {
      assert.equal(judge(market, raw).phone.type, 'PREMIUM_RATE', raw);
      assertRefused(market, raw, 'not_mobile', /premium-rate/);
    }
  });

  it('never texts numbers that are not handsets', () => {
    const cases: Array<[Market, string, RegExp]> = [
      ['US', '1-800-555-0199', /toll-free/],
      ['US', '+1 888 234 5678', /toll-free/],
      ['UK', '0800 123 4567', /toll-free/],
      ['US', '+1 500 234 5678', /personal/],
      ['UK', '070 1234 5678', /personal/],
      ['UK', '076 2312 3456', /pager/],
      ['UK', '055 1234 5678', /UAN/],
      ['UK', '0300 123 4567', /UAN/],
      ['UK', '056 1234 5678', /VoIP/],
      ['UK', '020 7946 0958', /fixed-line/],
      ['UK', '+44 1534 456789', /fixed-line/],
    ];
    for (const [market, raw, reason] of cases) assertRefused(market, raw, 'not_mobile', reason);
  });

  it('never texts a number from outside the lead market, mobile or not', () => {
    const cases: Array<[Market, string, RegExp]> = [
      ['US', '+234 803 123 4567', /NG.*US market/], // a Nigerian mobile on a US lead
      ['US', '+1 416 234 5678', /CA/], // Canada shares +1 but is abroad
      ['US', '+1 876 210 1234', /JM/],
      ['US', '+44 7400 123456', /GB/],
      ['UK', '+1 415 555 0132', /US.*UK market/],
      ['UK', '+353 85 123 4567', /IE/],
      ['UK', '+33 6 12 34 56 78', /FR/],
    ];
    for (const [market, raw, reason] of cases) assertRefused(market, raw, 'foreign', reason);
    // A shared-cost number abroad is refused for its type first.
    assertRefused('UK', '+33 810 123 456', 'not_mobile', /shared-cost/);
  });

  it('never texts an invalid or missing number', () => {
    for (const [market, raw] of [['UK', '07700 900123'], ['US', '(800) 123-4567'], ['US', '555-1234'], ['US', ''], ['UK', '(415) 555-0132']] as const) {
      assertRefused(market, raw, 'invalid', /no valid phone/);
    }
    assert.equal(smsAbuseGuard('US', null).allowed, false);
  });

  it('does not trust an enrichment that contradicts itself or carries an unknown type', () => {
    const base: PhoneEnrichment = { e164: '+14155550132', type: 'FIXED_LINE_OR_MOBILE', valid: true, country: 'US', reason: null };
    assert.deepEqual(smsAbuseGuard('US', base), { allowed: true });
    const cases: Array<[Partial<PhoneEnrichment>, string, RegExp]> = [
      [{ type: null }, 'not_mobile', /type unknown/],
      [{ type: 'VOICEMAIL' }, 'not_mobile', /voicemail/],
      [{ type: 'SHARED_COST' }, 'not_mobile', /shared-cost/],
      [{ type: 'something +14155550132' }, 'not_mobile', /unrecognised/],
      [{ country: null }, 'foreign', /no country/],
      [{ e164: '+447400123456' }, 'foreign', /calling code \+1/], // says US, dials the UK
      [{ valid: false }, 'invalid', /no valid phone/],
      [{ e164: null }, 'invalid', /no valid phone/],
    ];
    for (const [over, code, reason] of cases) {
      const d = smsAbuseGuard('US', { ...base, ...over });
      assert.equal(d.allowed, false, JSON.stringify(over));
      if (d.allowed) continue;
      assert.equal(d.code, code, JSON.stringify(over));
      assert.match(d.reason, reason);
      assert.doesNotMatch(d.reason, /\d{4,}/);
    }
  });
});
