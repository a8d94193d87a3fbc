import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIngestApp } from '../../src/ingest/app.js';
import { VendorLeadDedup } from '../../src/ingest/dedup.js';
import type { LeadEvent } from '../../src/lead.js';
import { ukLeadBody, usLeadBody } from '../support/fixtures.js';
import { OTHER_KEY, operatorHeaders, testKeyring, vendorHeaders } from '../support/auth.js';

async function app(opts: { fail?: boolean } = {}) {
  const published: LeadEvent[] = [];
  const instance = await buildIngestApp(
    {
      publisher: {
        async publish(e) {
          if (opts.fail) throw new Error('broker down');
          published.push(e);
        },
        async close() {},
      },
      history: { forLead: async () => [] },
      dedup: new VendorLeadDedup(60_000, 100),
      readiness: async () => (opts.fail ? ['kafka: down'] : []),
      keyring: await testKeyring(),
    },
    { maxBodyBytes: 2048, logger: false },
  );
  return { instance, published };
}

test('a valid lead is published and answered 202 with a time-ordered leadId', async () => {
  const { instance, published } = await app();
  const res = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: usLeadBody() });
  assert.equal(res.statusCode, 202);
  const { leadId } = res.json() as { leadId: string };
  assert.match(leadId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/, 'UUIDv7');
  assert.equal(published[0]?.leadId, leadId);
  assert.deepEqual(published[0]?.hops, ['ingest']);
});

test('"UK" is stored as GB and needs a postcode', async () => {
  const { instance, published } = await app();
  assert.equal((await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: ukLeadBody({ country: 'UK' }) })).statusCode, 202);
  assert.equal(published[0]?.country, 'GB');
  const { postcode: _p, ...noPostcode } = ukLeadBody();
  const res = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: noPostcode });
  assert.equal(res.statusCode, 400);
  assert.ok((res.json() as { fields: { field: string }[] }).fields.some((f) => f.field === 'postcode'));
});

test('400 names every offending field at once', async () => {
  const { instance, published } = await app();
  const { email: _e, ...body } = usLeadBody({ zip: '123', consent: { sms: 'yes', at: 'yesterday' } });
  const res = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: body });
  assert.equal(res.statusCode, 400);
  const fields = (res.json() as { fields: { field: string }[] }).fields.map((f) => f.field).sort();
  assert.deepEqual([...new Set(fields)], ['consent.at', 'consent.sms', 'email', 'zip']);
  assert.equal(published.length, 0);
});

test('413 over the size limit, 415 for a non-JSON body, 400 for broken JSON', async () => {
  const { instance } = await app();
  const big = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: usLeadBody({ jobTitle: 'x'.repeat(5000) }) });
  assert.equal(big.statusCode, 413);
  const text = await instance.inject({ method: 'POST', url: '/v1/leads', payload: 'name=jane', headers: { 'content-type': 'application/x-www-form-urlencoded', ...vendorHeaders() } });
  assert.equal(text.statusCode, 415);
  const plain = await instance.inject({ method: 'POST', url: '/v1/leads', payload: 'hello', headers: { 'content-type': 'text/plain', ...vendorHeaders() } });
  assert.equal(plain.statusCode, 415);
  const broken = await instance.inject({ method: 'POST', url: '/v1/leads', payload: '{"firstName": ', headers: { 'content-type': 'application/json', ...vendorHeaders() } });
  assert.equal(broken.statusCode, 400);
  assert.equal((broken.json() as { error: string }).error, 'invalid_json');
});

test('a repeated vendor lead id returns the original leadId, not a second lead', async () => {
  const { instance, published } = await app();
  const body = usLeadBody({ vendorLeadId: 'V-77' });
  const [a, b] = await Promise.all([
    instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: body }),
    instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: body }),
  ]);
  assert.equal(a.json().leadId, b.json().leadId);
  assert.equal(published.length, 1);
  // Another vendor's id space: the same vendorLeadId from another key is another lead.
  const otherVendor = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(OTHER_KEY), payload: body });
  assert.notEqual(otherVendor.json().leadId, a.json().leadId);
  assert.equal(published.at(-1)?.vendor, 'zenith-leads', 'the vendor is the key\'s, whatever the body says');
});

test('when Kafka does not acknowledge, the vendor gets 503 (not accepted) and readyz says why', async () => {
  const { instance } = await app({ fail: true });
  const res = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: usLeadBody() });
  assert.equal(res.statusCode, 503);
  assert.ok(res.headers['retry-after'], 'says when to retry');
  const ready = await instance.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().problems, undefined, 'reasons only for operators');
  const detailed = await instance.inject({ method: 'GET', url: '/readyz', headers: operatorHeaders() });
  assert.deepEqual(detailed.json().problems, ['kafka: down']);
});
