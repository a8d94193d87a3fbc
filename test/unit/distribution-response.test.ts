import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getPath, parsePath } from '../../src/distribution/reply-paths.js';
import {
  interpretBid,
  interpretResponse,
  interpretTransportError,
  MAX_REPLY_CHARS,
  pingSchema,
  responseMappingSchema,
  type ResponseMapping,
} from '../../src/distribution/response.js';

const mapping = (raw: unknown): ResponseMapping => responseMappingSchema.parse(raw);
const JSON_TYPE = 'application/json';

describe('default mapping (today\'s {"accepted": true} contract)', () => {
  test('accepted, with the buyer lead id', () => {
    assert.deepEqual(interpretResponse(undefined, 200, JSON_TYPE, '{"accepted":true,"id":"b-1"}'), { accepted: true, buyerLeadId: 'b-1' });
  });

  test('accepted:false is a final rejection with the buyer reason', () => {
    assert.deepEqual(interpretResponse(undefined, 200, JSON_TYPE, '{"accepted":false,"reason":"duplicate"}'), { accepted: false, retriable: false, reason: 'rejected by buyer: duplicate' });
  });

  test('a 2xx that does not parse, or does not say, is retriable', () => {
    const garbage = interpretResponse(undefined, 200, 'text/html', '<html>oops</html>');
    assert.equal(garbage.accepted, false);
    assert.ok(!garbage.accepted && garbage.retriable && garbage.reason.includes('not JSON'), JSON.stringify(garbage));
    const silent = interpretResponse(undefined, 200, JSON_TYPE, '{"ok":1}');
    assert.ok(!silent.accepted && silent.retriable && silent.reason.includes('does not say accepted or rejected'), JSON.stringify(silent));
    assert.ok(!interpretResponse(undefined, 204, null, '').accepted);
  });

  test('status: 5xx, 429 and 408 retriable; other 4xx final, with the buyer reason', () => {
    for (const status of [500, 502, 503, 429, 408]) {
      const v = interpretResponse(undefined, status, JSON_TYPE, '{"message":"busy"}');
      assert.deepEqual(v, { accepted: false, retriable: true, reason: `HTTP ${status}: busy` });
    }
    assert.deepEqual(interpretResponse(undefined, 422, JSON_TYPE, '{"error":"zip required"}'), { accepted: false, retriable: false, reason: 'HTTP 422: zip required' });
    const conflict = interpretResponse(undefined, 409, 'text/plain', 'already have it');
    assert.deepEqual(conflict, { accepted: false, retriable: false, reason: 'HTTP 409: "already have it"' });
  });

  test('no reply at all: retriable', () => {
    assert.deepEqual(interpretTransportError('timeout', 'no answer in 3000ms'), { accepted: false, retriable: true, reason: 'timeout: no answer in 3000ms' });
    assert.equal(interpretTransportError('network', 'ECONNREFUSED').accepted, false);
  });
});

describe('JSON path mapping', () => {
  const m = mapping({
    accepted: { json: 'status', equals: 'accepted' },
    leadId: { json: 'data.items[0].id' },
    price: { json: 'data.price' },
  });

  test('{"status":"rejected","reason":"duplicate"} is a final rejection with the buyer reason', () => {
    assert.deepEqual(interpretResponse(m, 200, JSON_TYPE, '{"status":"rejected","reason":"duplicate"}'), { accepted: false, retriable: false, reason: 'rejected by buyer: duplicate' });
  });

  test('accepted (case ignored), id from an array, price from the reply', () => {
    const body = JSON.stringify({ status: 'Accepted', data: { items: [{ id: 98765 }], price: '12.50' } });
    assert.deepEqual(interpretResponse(m, 201, JSON_TYPE, body), { accepted: true, buyerLeadId: '98765', price: 12.5 });
  });

  test('a rejection without a reason names the field', () => {
    assert.deepEqual(interpretResponse(m, 200, JSON_TYPE, '{"status":"on_hold"}'), { accepted: false, retriable: false, reason: 'rejected by buyer: status is "on_hold"' });
  });

  test('the field missing is malformed, retriable', () => {
    const v = interpretResponse(m, 200, JSON_TYPE, '{"result":"accepted"}');
    assert.ok(!v.accepted && v.retriable);
  });

  test('any of several accepted conditions; an explicit rejected condition', () => {
    const either = mapping({ accepted: [{ json: 'ok', equals: true }, { regex: '^OK$' }], rejected: { json: 'ok', equals: false }, reason: { json: 'why' } });
    assert.equal(interpretResponse(either, 200, 'text/plain', 'OK').accepted, true);
    assert.equal(interpretResponse(either, 200, JSON_TYPE, '{"ok":true}').accepted, true);
    assert.deepEqual(interpretResponse(either, 200, JSON_TYPE, '{"ok":false,"why":"out of area"}'), { accepted: false, retriable: false, reason: 'rejected by buyer: out of area' });
  });

  test('paths: dotted, indexed, own properties only', () => {
    assert.deepEqual(parsePath('data.items[0].id'), ['data', 'items', 0, 'id']);
    assert.deepEqual(parsePath('[1].ok'), [1, 'ok']);
    assert.deepEqual(parsePath('grid[0][2]'), ['grid', 0, 2]);
    for (const bad of ['', 'a..b', 'a.[0]', 'a[x]', '__proto__.polluted', 'a.constructor']) assert.throws(() => parsePath(bad), Error, bad);
    assert.deepEqual(getPath({ a: [{ b: 'x' }] }, parsePath('a[0].b')), { found: true, value: 'x' });
    assert.deepEqual(getPath({}, parsePath('toString')), { found: false, value: undefined });
    assert.deepEqual(getPath({ a: [1] }, parsePath('a[3]')), { found: false, value: undefined });
  });
});

describe('regex mapping', () => {
  const m = mapping({
    accepted: { regex: '^SUCCESS\\b' },
    rejected: { regex: '^FAIL' },
    leadId: { regex: 'lead_id=(\\w+)' },
    price: { regex: 'price=([0-9.]+)' },
    reason: { regex: 'reason=([^|]+)' },
  });

  test('accepted, rejected and not understood', () => {
    assert.deepEqual(interpretResponse(m, 200, 'text/plain', 'SUCCESS|lead_id=abc123|price=12.50'), { accepted: true, buyerLeadId: 'abc123', price: 12.5 });
    assert.deepEqual(interpretResponse(m, 200, 'text/plain', 'FAIL|reason=duplicate'), { accepted: false, retriable: false, reason: 'rejected by buyer: duplicate' });
    const v = interpretResponse(m, 200, 'text/plain', 'maintenance');
    assert.ok(!v.accepted && v.retriable);
  });

  test('(?i) makes a pattern case-insensitive', () => {
    assert.equal(interpretResponse(mapping({ accepted: { regex: '(?i)^success' } }), 200, 'text/plain', 'Success').accepted, true);
  });

  test('backreferences and lookaround are refused at load, with the reason', () => {
    for (const pattern of ['(a)\\1', '(?=accepted)', '(unclosed']) {
      const r = responseMappingSchema.safeParse({ accepted: { regex: pattern } });
      assert.ok(!r.success, pattern);
      assert.match(r.error.issues[0]!.message, /invalid regex \(RE2 syntax/);
      assert.deepEqual(r.error.issues[0]!.path, ['accepted', 0, 'regex']);
    }
  });

  test('patterns that backtrack catastrophically run in linear time on a 64 KB body', () => {
    const slow = mapping({ accepted: [{ regex: '.*accepted.*true' }, { regex: '(\\w+\\s?)+$' }, { regex: 'a*a*a*b' }] });
    const bodies = ['accepted'.repeat(MAX_REPLY_CHARS / 8), `${'a'.repeat(MAX_REPLY_CHARS - 1)}!`];
    const started = performance.now();
    for (const body of bodies) interpretResponse(slow, 200, 'text/plain', body);
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)}ms`);
  });

  test('only the first 64 KB of a reply is read', () => {
    const v = interpretResponse(undefined, 200, JSON_TYPE, `{"accepted":true,"pad":"${'x'.repeat(MAX_REPLY_CHARS)}"}`);
    assert.ok(!v.accepted && v.retriable && v.reason.includes(`first ${MAX_REPLY_CHARS} characters`), JSON.stringify(v).slice(0, 300));
  });
});

describe('XML mapping', () => {
  const m = mapping({
    accepted: { xml: 'response.status', equals: 'Accepted' },
    leadId: { xml: 'response.lead.@id' },
    price: { xml: 'response.price' },
    reason: { xml: 'response.reason' },
  });

  test('accepted, with an attribute id and a price', () => {
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<response><status>accepted</status><lead id="X-0099"/><price>7.25</price></response>';
    assert.deepEqual(interpretResponse(m, 200, 'application/xml', body), { accepted: true, buyerLeadId: 'X-0099', price: 7.25 });
  });

  test('rejected, with the buyer reason', () => {
    const body = '<response><status>Rejected</status><reason>Duplicate &amp; old</reason></response>';
    assert.deepEqual(interpretResponse(m, 200, 'application/xml', body), { accepted: false, retriable: false, reason: 'rejected by buyer: Duplicate & old' });
  });

  test('a truncated document is malformed, retriable', () => {
    const v = interpretResponse(m, 200, 'application/xml', '<response><status>Accepted</status>');
    assert.ok(!v.accepted && v.retriable && v.reason.includes('not XML'), JSON.stringify(v));
  });
});

describe('mapping schema', () => {
  test('every problem, with its path', () => {
    const r = responseMappingSchema.safeParse({
      accepted: [{ json: 'status' }, { json: 'a..b', equals: 1 }, { json: 'x', regex: 'y' }],
      leadId: { regex: 'id=\\d+' },
    });
    assert.ok(!r.success);
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(lines.includes('accepted.0.equals: json/xml conditions need `equals`'), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('accepted.1.json: invalid path')), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith('accepted.2: a condition needs exactly one of json, xml, regex')), lines.join('\n'));
    assert.ok(lines.includes('leadId.regex: needs a capture group: the value is what (...) matches'), lines.join('\n'));
  });
});

describe('ping bids', () => {
  const ping = pingSchema.parse({ url: 'http://127.0.0.1:4701/ping' });

  test('defaults: 300 ms, bid at "bid"', () => {
    assert.equal(ping.timeoutMs, 300);
    assert.deepEqual(interpretBid(ping, 200, '{"bid":12.5}'), { bid: 12.5 });
  });

  test('no bid: a zero, a missing amount, an error status', () => {
    assert.deepEqual(interpretBid(ping, 200, '{"bid":0}'), { noBid: 'bid "0" is not a positive amount' });
    assert.deepEqual(interpretBid(ping, 200, '{"pass":true}'), { noBid: 'no bid in the reply' });
    assert.deepEqual(interpretBid(ping, 503, ''), { noBid: 'HTTP 503' });
  });
});
