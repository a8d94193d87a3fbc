/**
 * Hostile requests against the whole ingest app (fastify inject(), no broker): every case asserts
 * the exact status. Credentials, the vanish-a-lead attack, other vendors' leads, rate limits,
 * overload, malformed and oversized bodies, poisoned JSON, invisible characters, and the
 * expensive patterns of issue 8. The SMS webhook cases are in webhooks-hostile.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { ACME_KEY, ACME_KEY_2, OPERATOR, OTHER_KEY, UNKNOWN_KEY, UNKNOWN_OPERATOR, operatorHeaders, vendorHeaders } from '../support/auth.js';
import { usLeadBody, ukLeadBody } from '../support/fixtures.js';
import { ACME_LEAD, testIngest, ZENITH_LEAD } from '../support/ingest-app.js';

const json = { 'content-type': 'application/json' };
const lead = (overrides: Record<string, unknown> = {}) => JSON.stringify(usLeadBody(overrides));
const post = (headers: Record<string, string>, payload: string = lead()): InjectOptions => ({ method: 'POST', url: '/v1/leads', headers: { ...json, ...headers }, payload });
const get = (url: string, headers: Record<string, string> = {}): InjectOptions => ({ method: 'GET', url, headers });

/** [what, request, status]: each runs against a fresh app. */
const CASES: [string, InjectOptions, number][] = [
  // credentials on POST /v1/leads
  ['no key', post({}), 401],
  ['empty key', post({ 'x-api-key': '' }), 401],
  ['key that is not shaped like one', post({ 'x-api-key': 'letmein' }), 403],
  ['well-formed key never issued (or revoked)', post(vendorHeaders(UNKNOWN_KEY)), 403],
  ['valid key with a character changed', post(vendorHeaders(ACME_KEY.slice(0, -1) + (ACME_KEY.endsWith('A') ? 'B' : 'A'))), 403],
  ['valid key with trailing junk', post(vendorHeaders(`${ACME_KEY}x`)), 403],
  ['a 10 KB key', post({ 'x-api-key': `lr_a_${'x'.repeat(10_000)}` }), 403],
  ['an operator token as the API key', post({ 'x-api-key': OPERATOR }), 403],
  ['an operator bearer token instead of a key', post(operatorHeaders()), 403],
  ['basic auth instead of a key', post({ authorization: 'Basic YWRtaW46YWRtaW4=' }), 403],
  ['key in the query string', { ...post({}), url: `/v1/leads?api_key=${ACME_KEY}` }, 401],
  ['the first key of a rotation', post(vendorHeaders(ACME_KEY)), 202],
  ['the second key of a rotation', post(vendorHeaders(ACME_KEY_2)), 202],
  ['a stray Authorization header beside a valid key', post({ ...vendorHeaders(), authorization: 'Bearer nonsense' }), 202],
  // bodies, with a valid key
  ['ReDoS e-mail: "a@" and 15,000 dots', post(vendorHeaders(), lead({ email: `a@${'.'.repeat(15_000)}` })), 400],
  ['ReDoS e-mail: 15,000 "a@a"', post(vendorHeaders(), lead({ email: 'a@a'.repeat(5_000) })), 400],
  ['phone without digits', post(vendorHeaders(), lead({ phone: '+++++++' })), 400],
  ['NUL in the first name', post(vendorHeaders(), lead({ firstName: 'Ja\u0000ne' })), 400],
  ['right-to-left override in the last name', post(vendorHeaders(), lead({ lastName: 'Doe\u202Etxt.exe' })), 400],
  ['zero-width space in the job title', post(vendorHeaders(), lead({ jobTitle: 'Nurse\u200B' })), 400],
  ['newline in vendorLeadId (log injection)', post(vendorHeaders(), lead({ vendorLeadId: 'A-1\n{"level":60}' })), 400],
  ['vendorLeadId over 200 characters', post(vendorHeaders(), lead({ vendorLeadId: 'x'.repeat(201) })), 400],
  ['__proto__ pollution', post(vendorHeaders(), '{"__proto__":{"admin":true},"firstName":"x"}'), 400],
  ['constructor.prototype pollution', post(vendorHeaders(), '{"constructor":{"prototype":{"admin":true}}}'), 400],
  ['a JSON array', post(vendorHeaders(), `[${lead()}]`), 400],
  ['JSON null', post(vendorHeaders(), 'null'), 400],
  ['a JSON string', post(vendorHeaders(), '"lead"'), 400],
  ['5,000 nested arrays', post(vendorHeaders(), '['.repeat(5000) + ']'.repeat(5000)), 400],
  ['truncated JSON', post(vendorHeaders(), '{"firstName": '), 400],
  ['empty body', post(vendorHeaders(), ''), 400],
  ['17 KB body', post(vendorHeaders(), lead({ jobTitle: 'x'.repeat(17_000) })), 413],
  ['text/plain', { ...post(vendorHeaders()), headers: { ...vendorHeaders(), 'content-type': 'text/plain' } }, 415],
  ['form-encoded', { ...post(vendorHeaders(), 'firstName=Jane'), headers: { ...vendorHeaders(), 'content-type': 'application/x-www-form-urlencoded' } }, 415],
  ['XML', { ...post(vendorHeaders(), '<lead/>'), headers: { ...vendorHeaders(), 'content-type': 'application/xml' } }, 415],
  ['no content type', { method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: lead() }, 415],
  ['consent.sms as a string', post(vendorHeaders(), lead({ consent: { sms: 'yes', at: '2026-11-23T10:00:00Z' } })), 400],
  ['consent.at not a date', post(vendorHeaders(), lead({ consent: { sms: true, at: 'yesterday' } })), 400],
  ['country not served', post(vendorHeaders(), lead({ country: 'FR' })), 400],
  ['US lead without ZIP', post(vendorHeaders(), lead({ zip: undefined })), 400],
  ['UK lead without postcode', post(vendorHeaders(), JSON.stringify(ukLeadBody({ postcode: undefined }))), 400],
  ['unknown fields are dropped, the lead kept', post(vendorHeaders(), lead({ isAdmin: true, route: 'buyer-uk' })), 202],
  // history
  ['history without a credential', get(`/v1/leads/${ACME_LEAD}`), 401],
  ['history with an unknown operator token', get(`/v1/leads/${ACME_LEAD}`, operatorHeaders(UNKNOWN_OPERATOR)), 403],
  ['history with a malformed bearer', get(`/v1/leads/${ACME_LEAD}`, { authorization: 'Bearer' }), 403],
  ['history with a vendor key as bearer', get(`/v1/leads/${ACME_LEAD}`, { authorization: `Bearer ${ACME_KEY}` }), 403],
  ['history with an unknown vendor key', get(`/v1/leads/${ACME_LEAD}`, vendorHeaders(UNKNOWN_KEY)), 403],
  ['the operator reads any lead', get(`/v1/leads/${ZENITH_LEAD}`, operatorHeaders()), 200],
  ['a vendor reads its own lead', get(`/v1/leads/${ACME_LEAD}`, vendorHeaders()), 200],
  ['a vendor reads another vendor\'s lead', get(`/v1/leads/${ZENITH_LEAD}`, vendorHeaders()), 404],
  ['a vendor probes a lead that does not exist', get('/v1/leads/0190c0de-0000-7000-8000-0000000000ff', vendorHeaders()), 404],
  ['a lead id that is not a UUID', get('/v1/leads/..%2F..%2Fetc%2Fpasswd', operatorHeaders()), 400],
  ['a lead id of 10,000 characters', get(`/v1/leads/${'a'.repeat(10_000)}`, operatorHeaders()), 414],
  ['DELETE a lead', { method: 'DELETE', url: `/v1/leads/${ACME_LEAD}`, headers: operatorHeaders() }, 404],
  // public endpoints say nothing they should not
  ['liveness, public', get('/healthz'), 200],
  ['readiness without a token: status only', get('/readyz'), 503],
  ['readiness with a bad token', get('/readyz', operatorHeaders(UNKNOWN_OPERATOR)), 403],
  ['readiness for the operator', get('/readyz', operatorHeaders()), 503],
  ['the OpenAPI document, public', get('/openapi.json'), 200],
  ['an unknown route', get('/admin'), 404],
];

describe('hostile requests: exact statuses', () => {
  for (const [what, request, status] of CASES) {
    test(`${status} ${what}`, async () => {
      const { app } = await testIngest();
      const t0 = performance.now();
      const res = await app.inject(request);
      const ms = performance.now() - t0;
      assert.equal(res.statusCode, status, `${what}: ${res.body.slice(0, 200)}`);
      if (status >= 400 && status !== 404 && request.url !== '/readyz') assert.equal(typeof res.json().error, 'string', 'the documented error body');
      if (status === 401) assert.ok(res.headers['www-authenticate'], 'a 401 says how to authenticate');
      assert.ok(ms < 1000, `${what} took ${ms.toFixed(0)} ms`);
    });
  }
  test(`at least 50 cases (${CASES.length})`, () => assert.ok(CASES.length >= 50));
});

describe('attacks from issue 8', () => {
  test('vanish a real vendor\'s lead: another vendor\'s post with its vendorLeadId and vendor name does not touch it', async () => {
    const { app, published } = await testIngest();
    const attack = await app.inject(post(vendorHeaders(OTHER_KEY), lead({ vendor: 'acme-leads', vendorLeadId: 'A-1001' })));
    assert.equal(attack.statusCode, 202);
    assert.equal(published[0]?.vendor, 'zenith-leads', 'attributed to the attacker\'s own key, not the body');
    const real = await app.inject(post(vendorHeaders(ACME_KEY), lead({ vendorLeadId: 'A-1001' })));
    assert.equal(real.statusCode, 202);
    assert.equal(real.json().duplicate, false, 'the real lead is a new lead');
    assert.notEqual(real.json().leadId, attack.json().leadId);
    assert.equal(published.length, 2, 'and it was published');
    assert.equal(published[1]?.vendor, 'acme-leads');
    // and without any key the attacker gets nowhere at all
    assert.equal((await app.inject(post({}, lead({ vendorLeadId: 'A-1002' })))).statusCode, 401);
  });

  test('read anyone\'s personal data: a vendor sees its own lead masked, the operator unmasked', async () => {
    const { app } = await testIngest();
    const own = await app.inject(get(`/v1/leads/${ACME_LEAD}`, vendorHeaders()));
    assert.doesNotMatch(own.body, /jane\.doe@example\.com|4155550132|555 0132/);
    assert.equal(own.json().events.find((e: { type: string }) => e.type === 'reply').detail, 'reply received');
    const full = await app.inject(get(`/v1/leads/${ACME_LEAD}`, operatorHeaders()));
    assert.match(full.body, /jane\.doe@example\.com/, 'operators see the stored detail');
  });

  test('a vendor over its rate limit gets 429 with Retry-After; other vendors are not affected', async () => {
    const { app } = await testIngest({ tightLimit: true });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.inject(post(vendorHeaders(OTHER_KEY)))).statusCode);
    assert.deepEqual(statuses, [202, 202, 202, 429]);
    const limited = await app.inject(post(vendorHeaders(OTHER_KEY)));
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After in seconds');
    assert.equal((await app.inject(post(vendorHeaders(ACME_KEY)))).statusCode, 202);
  });

  test('overload: 503 with Retry-After before the body is read, and nothing is published', async () => {
    const { app, published, overload } = await testIngest();
    overload.now = { reason: 'Kafka has not acknowledged for 2500 ms', retryAfterS: 2 };
    const res = await app.inject(post(vendorHeaders()));
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.equal(res.json().error, 'overloaded');
    assert.equal(published.length, 0);
    overload.now = null;
    assert.equal((await app.inject(post(vendorHeaders()))).statusCode, 202, 'accepted again once Kafka keeps up');
  });

  test('readiness problems name internal hosts: only the operator reads them', async () => {
    const { app } = await testIngest();
    assert.equal((await app.inject(get('/readyz'))).json().problems, undefined);
    assert.match((await app.inject(get('/readyz', operatorHeaders()))).body, /127\.0\.0\.1:9092/);
  });
});
