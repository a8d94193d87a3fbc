/**
 * What leaves the router: buyer webhooks signed per Standard Webhooks (verified with the
 * reference library), bounded answers, https-only destinations, the verifier's e-mail in a POST
 * body, the SMS abuse guard wired into the sink (premium and foreign numbers suppressed, with the
 * reason in history), and ingest's overload shedding in the lead batcher.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { SANDBOX_BUYER_SECRETS, startBuyer } from '../../sandbox/buyer.js';
import { startVerifier } from '../../sandbox/verifier.js';
import { parseRouterFile } from '../../src/config.js';
import type { LeadEvent } from '../../src/lead.js';
import { verifierConfigSchema } from '../../src/processors/enrich/config.js';
import { createEmailVerifier } from '../../src/processors/enrich/email-verifier.js';
import { enrichPhone } from '../../src/processors/enrich/phone.js';
import { fixedLimits } from '../../src/kafka/produce-limits.js';
import { createLeadBatcher, OverloadedError } from '../../src/producers/lead-batcher.js';
import { createWebhookSink, MAX_ANSWER_BYTES } from '../../src/sinks/primary/webhook-sink.js';
import { standardWebhookHeaders, verifyStandardWebhook } from '../../src/sinks/primary/standard-webhooks.js';
import { smsEligibility } from '../../src/sinks/sms/abuse-guard.js';
import { ProviderCircuit } from '../../src/sinks/sms/breaker.js';
import { createSmsSink } from '../../src/sinks/sms/sms-sink.js';
import type { SentStore } from '../../src/sinks/sms/sent-store.js';
import { settle } from '../../src/stages/outcomes.js';
import { enrichment, leadEvent } from '../support/fixtures.js';
import fs from 'node:fs';

const delivery = (destination: string) => ({ destination, rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] });

describe('buyer webhooks', () => {
  test('signed per Standard Webhooks: the reference library verifies our signature; a tampered body fails', () => {
    const secret = SANDBOX_BUYER_SECRETS['buyer-us'];
    const body = '{"leadId":"x"}';
    const headers = standardWebhookHeaders(secret, 'x:primary:buyer-us', body, Date.now());
    assert.match(headers['webhook-signature']!, /^v1,[A-Za-z0-9+/]+=*$/);
    assert.doesNotThrow(() => new Webhook(secret).verify(body, headers));
    assert.throws(() => new Webhook(secret).verify(body.replace('x', 'y'), headers));
    assert.ok(verifyStandardWebhook(secret, headers, body, Date.now()));
    assert.ok(!verifyStandardWebhook(secret, headers, body, Date.now() + 6 * 60_000), 'stale after 5 minutes');
  });

  test('the sandbox buyer given a secret accepts our signed lead and refuses an unsigned one', async () => {
    const secret = SANDBOX_BUYER_SECRETS['buyer-us'];
    const buyer = await startBuyer({ name: 'buyer-us', port: 0, secret });
    const lead = leadEvent({ leadId: 'signed-1', delivery: delivery('primary:buyer-us') });
    const signed = createWebhookSink({ 'buyer-us': { url: `${buyer.url}/leads`, timeoutMs: 1000, concurrency: 2, headers: {}, secret } });
    const unsigned = createWebhookSink({ 'buyer-us': { url: `${buyer.url}/leads`, timeoutMs: 1000, concurrency: 2, headers: {} } });
    try {
      assert.equal((await signed.deliver([lead]))[0]?.status, 'delivered');
      assert.equal(buyer.received.at(-1)?.headers['webhook-id'], 'signed-1:primary:buyer-us', 'the id is the delivery: the same on every retry');
      assert.equal((await unsigned.deliver([lead]))[0]?.status, 'retry');
      assert.equal(buyer.received.at(-1)?.accepted, false);
    } finally {
      await Promise.all([signed.close(), unsigned.close(), buyer.close()]);
    }
  });

  test('an answer over the size limit is not read, and no answer text reaches the reason unscrubbed', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"accepted":true,"pad":"${'x'.repeat(MAX_ANSWER_BYTES)}"}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/leads`;
    const sink = createWebhookSink({ 'buyer-us': { url, timeoutMs: 1000, concurrency: 2, headers: {} } });
    try {
      const [outcome] = await sink.deliver([leadEvent({ delivery: delivery('primary:buyer-us') })]);
      assert.equal(outcome?.status, 'retry');
      assert.match((outcome as { error: string }).error, /over 65536 bytes/);
    } finally {
      await sink.close();
      server.close();
    }
  });
});

describe('destinations that carry secrets', () => {
  const shipped = fs.readFileSync('config/router.yaml', 'utf8');
  test('http:// off this machine is refused unless allowInsecure; loopback is allowed', () => {
    const insecure = shipped.replace('http://127.0.0.1:4701/leads', 'http://buyer.example.com/leads').replace('baseUrl: http://127.0.0.1:4711', 'baseUrl: http://sms.example.com').replace('url: http://127.0.0.1:4721/v1/verify', 'url: http://verify.example.com/v1/verify');
    assert.throws(() => parseRouterFile(insecure, 'router.yaml'), (err: Error) => {
      assert.match(err.message, /primary\.buyers\.buyer-us\.url: http:\/\/ sends secrets/);
      assert.match(err.message, /sms\.providers\.twilio\.baseUrl: http:\/\//);
      assert.match(err.message, /enrichment\.verifier\.url: http:\/\//);
      return true;
    });
    const allowed = shipped.replace('url: http://127.0.0.1:4701/leads', 'url: http://buyer.example.com/leads\n      allowInsecure: true');
    assert.doesNotThrow(() => parseRouterFile(allowed, 'router.yaml'));
    assert.doesNotThrow(() => parseRouterFile(shipped, 'router.yaml'));
  });

  test('a buyer off this machine must have a signing secret', () => {
    const unsigned = shipped.replace('url: http://127.0.0.1:4701/leads', 'url: https://buyer.example.com/leads').replace('secret: whsec_fAmViVkAFqf/s3GZRkcCyJViWH5YaXIw', '');
    assert.throws(() => parseRouterFile(unsigned, 'router.yaml'), /buyer-us\.secret: a buyer webhook off this machine must be signed/);
  });
});

describe('email verifier', () => {
  const open: { close(): Promise<void> }[] = [];
  after(() => Promise.all(open.map((o) => o.close())));
  test('the address travels in a POST body, never in the URL; an oversized answer is no answer', async () => {
    const server = await startVerifier({ port: 0 });
    open.push(server);
    const v = createEmailVerifier(verifierConfigSchema.parse({ url: `${server.url}/v1/verify`, budgetMs: 500 }));
    open.push(v);
    assert.equal((await v.verify('jane.doe@example.org')).status, 'valid');
    const got = server.received.at(-1)!;
    assert.equal(got.method, 'POST');
    assert.ok(!got.path.includes('jane') && !JSON.stringify(got.headers).includes('jane'));
    assert.equal(JSON.parse(got.body).email, 'jane.doe@example.org');
    const small = createEmailVerifier(verifierConfigSchema.parse({ url: `${server.url}/v1/verify`, budgetMs: 500, maxResponseBytes: 10, cacheSize: 0 }));
    open.push(small);
    assert.deepEqual([(await small.verify('x@example.org')).reason], ['verifier_bad_response']);
  });
});

describe('SMS abuse guard in the sink', () => {
  const noSent = { claimPhones: async () => new Map(), recordIntents: async (_texts: unknown, clock: () => number) => ({ existing: new Map(), intentAt: clock() }), markSent: async () => {}, markFailed: async () => {}, withdraw: async () => {} } as unknown as SentStore;
  test('premium-rate and foreign numbers are suppressed with the reason in history; a US mobile is texted', async () => {
    const sent: string[] = [];
    const sink = createSmsSink({
      provider: 'twilio',
      adapter: { kind: 'twilio', send: async (m: { to: string }) => (sent.push(m.to), { ok: true, providerMessageId: 'SM1' }), lookup: async () => ({ found: false }), close: async () => {} } as never,
      adapterFor: () => undefined,
      compose: () => 'hi',
      optOuts: { isOptedOut: () => false, readable: () => true },
      eligible: smsEligibility,
      sent: noSent,
      circuit: new ProviderCircuit(5, 1000, Date.now),
      quietHours: { US: { start: '00:00', end: '24:00' }, UK: { start: '00:00', end: '24:00' } } as never,
      dedupWindowMs: 0,
      now: Date.now,
    });
    const us = (raw: string, id: string): LeadEvent => leadEvent({ leadId: id, phone: raw, enrichment: enrichment({ phone: enrichPhone(raw, 'US') }), delivery: delivery('sms:twilio') });
    const leads = [us('+44 909 879 0000', 'premium'), us('+234 803 123 4567', 'nigeria'), us('(415) 555-0132', 'home')];
    const outcomes = await sink.deliver(leads);
    assert.deepEqual(outcomes.map((o) => o.status), ['skipped', 'skipped', 'delivered']);
    assert.deepEqual(sent, ['+14155550132']);
    const history = settle({ topic: 't', partition: 0, offset: '1', key: null, value: leads[0]!, headers: {} } as never, outcomes[0]!, { stage: 'sink-sms.twilio', policy: { baseDelayMs: 1, maxDelayMs: 1, maxAttempts: 1, maxAgeMs: 1 }, topology: { topics: {} } as never, now: 0 }).history;
    assert.equal(history[0]?.type, 'suppressed');
    assert.match(history[0]?.detail ?? '', /sms guard \(not_mobile\): premium-rate number: never texted/);
    assert.match(String((outcomes[1] as { reason: string }).reason), /foreign/);
  });
});

describe('ingest overload shedding', () => {
  test('refuses at once while a produce has waited past the threshold or too many leads wait; recovers by itself', async () => {
    let release: () => void = () => {};
    const producer = { send: () => new Promise<void>((r) => (release = r)) };
    const encoder = { encode: () => Buffer.from('x') };
    const batcher = createLeadBatcher({ producer: producer as never, encoder: encoder as never, limits: fixedLimits(), topics: { raw: 'raw', events: 'events' }, maxBatch: 1, lingerMs: 0, timeoutMs: 5000, maxPending: 3, shedAfterMs: 50 });
    const first = batcher.publish(leadEvent({ leadId: 'a' }));
    assert.equal(batcher.overload?.(), null);
    await new Promise((r) => setTimeout(r, 70));
    assert.match(batcher.overload?.()?.reason ?? '', /not acknowledged for \d+ ms/);
    await assert.rejects(batcher.publish(leadEvent({ leadId: 'b' })), OverloadedError);
    release();
    await first;
    await new Promise((r) => setImmediate(r));
    assert.equal(batcher.overload?.(), null, 'clear once Kafka answered');
    await batcher.close();
  });
});
