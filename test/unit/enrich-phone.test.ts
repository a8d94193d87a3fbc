/** Phone → E.164 and type, US by default, GB for UK leads; invalid numbers kept with a reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enrichPhone } from '../../src/processors/enrich/phone.js';

describe('phone enrichment', () => {
  it('formats US numbers written every usual way to the same E.164', () => {
    for (const raw of ['(415) 555-2671', '415-555-2671', '415.555.2671', '4155552671', '+1 415 555 2671', '1-415-555-2671']) {
      const r = enrichPhone(raw, 'US');
      assert.equal(r.e164, '+14155552671', raw);
      assert.equal(r.valid, true);
      assert.equal(r.country, 'US');
      assert.equal(r.reason, null);
    }
  });

  it('reports the number type from the max metadata', () => {
    assert.equal(enrichPhone('(212) 555-0123', 'US').type, 'FIXED_LINE_OR_MOBILE');
    assert.equal(enrichPhone('1-800-555-0199', 'US').type, 'TOLL_FREE');
    assert.equal(enrichPhone('07812 345678', 'GB').type, 'MOBILE');
    assert.equal(enrichPhone('020 7946 0958', 'GB').type, 'FIXED_LINE');
  });

  it('reads national numbers of UK leads as GB', () => {
    const r = enrichPhone('020 7946 0958', 'GB');
    assert.deepEqual([r.e164, r.country, r.valid], ['+442079460958', 'GB', true]);
    // The same digits on a US lead are not a US number.
    assert.equal(enrichPhone('020 7946 0958', 'US').valid, false);
  });

  it('keeps an explicit country code whatever the market', () => {
    const r = enrichPhone('+44 20 7946 0958', 'US');
    assert.equal(r.e164, '+442079460958');
    assert.equal(r.country, 'GB');
  });

  it('marks invalid numbers valid:false with a reason and no E.164', () => {
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['   ', 'empty'],
      ['not a phone', 'not_a_number'],
      ['555-1234', 'too_short'],
      ['12345678901234567890', 'too_long'],
      ['(800) 123-4567', 'invalid_number'],
    ];
    for (const [raw, reason] of cases) {
      const r = enrichPhone(raw, 'US');
      assert.equal(r.valid, false, raw);
      assert.equal(r.e164, null, raw);
      assert.equal(r.type, null, raw);
      assert.equal(r.reason, reason, raw);
    }
  });
});
