/** ZIP / postcode → zone, offset for the given date, DST flag, state and city. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createZipTimezoneLookup, isUkPostcode, parseUsZip } from '../../src/lookup/zip-timezone.js';

const tz = createZipTimezoneLookup();
const WINTER = new Date('2025-01-15T12:00:00Z');
const SUMMER = new Date('2025-07-15T12:00:00Z');

describe('ZIP → timezone', () => {
  it('loads the national table once', () => {
    assert.ok(tz.zipCount > 40_000, `only ${tz.zipCount} ZIPs`);
    assert.equal(createZipTimezoneLookup().zipCount, tz.zipCount);
  });

  it('NYC 10001 → America/New_York, -300 in winter and -240 in summer', () => {
    assert.deepEqual(tz.lookup({ country: 'US', zip: '10001' }, WINTER), { zone: 'America/New_York', utcOffsetMinutes: -300, dst: true, state: 'NY', city: 'New York', reason: null });
    assert.equal(tz.lookup({ country: 'US', zip: '10001' }, SUMMER).utcOffsetMinutes, -240);
  });

  it('Phoenix 85001 → America/Phoenix, no DST, -420 all year', () => {
    for (const at of [WINTER, SUMMER]) {
      const r = tz.lookup({ country: 'US', zip: '85001' }, at);
      assert.equal(r.zone, 'America/Phoenix');
      assert.equal(r.dst, false);
      assert.equal(r.utcOffsetMinutes, -420);
      assert.equal(r.state, 'AZ');
    }
  });

  it('the Navajo Nation in Arizona keeps DST (Window Rock 86515 → America/Denver)', () => {
    const r = tz.lookup({ country: 'US', zip: '86515' }, SUMMER);
    assert.equal(r.zone, 'America/Denver');
    assert.equal(r.dst, true);
    assert.equal(r.utcOffsetMinutes, -360);
  });

  it('Honolulu 96813 → Pacific/Honolulu, -600, no DST', () => {
    const r = tz.lookup({ country: 'US', zip: '96813' }, SUMMER);
    assert.deepEqual([r.zone, r.utcOffsetMinutes, r.dst, r.state, r.city], ['Pacific/Honolulu', -600, false, 'HI', 'Honolulu']);
  });

  it('Chicago 60601 → America/Chicago, -360 in winter, -300 in summer', () => {
    assert.equal(tz.lookup({ country: 'US', zip: '60601' }, WINTER).zone, 'America/Chicago');
    assert.equal(tz.lookup({ country: 'US', zip: '60601' }, WINTER).utcOffsetMinutes, -360);
    assert.equal(tz.lookup({ country: 'US', zip: '60601' }, SUMMER).utcOffsetMinutes, -300);
  });

  it('switches offset exactly at the DST transition (2025-03-09 07:00 UTC in New York)', () => {
    assert.equal(tz.lookup({ country: 'US', zip: '10001' }, new Date('2025-03-09T06:59:59Z')).utcOffsetMinutes, -300);
    assert.equal(tz.lookup({ country: 'US', zip: '10001' }, new Date('2025-03-09T07:00:00Z')).utcOffsetMinutes, -240);
  });

  it('accepts ZIP+4 in its usual spellings', () => {
    for (const zip of ['60601-1234', '60601 1234', '606011234', ' 60601 ']) assert.equal(tz.lookup({ country: 'US', zip }, WINTER).zone, 'America/Chicago', zip);
    assert.equal(parseUsZip('60601-1234'), 60601);
  });

  it('reports malformed, missing and unknown ZIPs with a reason and no zone', () => {
    for (const zip of ['1234', '123456', 'ABCDE', '60601-12', '60601_1234']) {
      assert.deepEqual(tz.lookup({ country: 'US', zip }), { zone: null, utcOffsetMinutes: null, dst: null, state: null, city: null, reason: 'zip_malformed' }, zip);
    }
    assert.equal(tz.lookup({ country: 'US' }).reason, 'zip_missing');
    assert.equal(tz.lookup({ country: 'US', zip: '00000' }).reason, 'zip_unknown');
    assert.equal(tz.lookup({ country: 'US', zip: '00000' }).zone, null);
  });

  it('UK postcodes → Europe/London (GMT in winter, BST in summer); malformed ones are rejected', () => {
    for (const postcode of ['SW1A 1AA', 'sw1a1aa', 'M1 1AE', 'EH1 1YZ', 'BT1 5GS', 'CR2 6XH', 'DN55 1PT', 'W1A 0AX']) {
      const r = tz.lookup({ country: 'GB', postcode }, SUMMER);
      assert.deepEqual([r.zone, r.utcOffsetMinutes, r.dst, r.reason], ['Europe/London', 60, true, null], postcode);
    }
    assert.equal(tz.lookup({ country: 'GB', postcode: 'SW1A 1AA' }, WINTER).utcOffsetMinutes, 0);
    for (const postcode of ['SW1A', '12345', 'QQ1 1AA', 'SW1A 1AAA', 'hello']) {
      assert.equal(tz.lookup({ country: 'GB', postcode }).reason, 'postcode_malformed', postcode);
      assert.equal(isUkPostcode(postcode), false, postcode);
    }
    assert.equal(tz.lookup({ country: 'GB' }).reason, 'postcode_missing');
  });
});
