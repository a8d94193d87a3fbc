/**
 * Hostile SMS webhook requests through the whole ingest app: forged, stale and replayed
 * signatures, and the attack of issue 8, a captured START replayed after the person's STOP.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { hmacHeaders, signHmac, signTwilio } from '../../src/sinks/sms/signature.js';
import { memoryLedger } from '../../src/ingest/webhook-replay.js';
import { testIngest } from '../support/ingest-app.js';

const JSON_PATH = '/v1/webhooks/sms/eurosms/inbound';
const TWILIO_URL = 'https://router.example.com/v1/webhooks/sms/twilio/inbound';
const reply = (text: string, id: string) => JSON.stringify({ from: '+14155550123', to: 'LEADROUTER', text, id });

function signedJson(body: string, atMs = Date.now()) {
  return { method: 'POST' as const, url: JSON_PATH, headers: { 'content-type': 'application/json', ...hmacHeaders('json-secret', body, atMs) }, payload: body };
}
function signedTwilio(params: Record<string, string>) {
  return {
    method: 'POST' as const,
    url: '/v1/webhooks/sms/twilio/inbound',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio({ authToken: 'tw-token', url: TWILIO_URL, params }) },
    payload: new URLSearchParams(params).toString(),
  };
}

describe('SMS webhooks: hostile requests', () => {
  test('a captured START replayed after the STOP changes nothing', async () => {
    const { app, replies } = await testIngest();
    const start = signedJson(reply('START', 'm-1'));
    assert.equal((await app.inject(start)).statusCode, 200);
    assert.equal((await app.inject(signedJson(reply('STOP', 'm-2')))).statusCode, 200);
    const replayed = await app.inject(start);
    assert.equal(replayed.statusCode, 200, 'answered like the original (a provider retry must not fail)');
    assert.deepEqual(replies.map((r) => r.intent), ['START', 'STOP'], 'the replay was not applied: the person stays opted out');
  });

  test('a replayed START re-signed with a new timestamp but the same message id is still the same message', async () => {
    const { app, replies } = await testIngest();
    await app.inject(signedJson(reply('START', 'm-7'), Date.now() - 60_000));
    await app.inject(signedJson(reply('STOP', 'm-8')));
    await app.inject(signedJson(reply('START', 'm-7')));
    assert.deepEqual(replies.map((r) => r.intent), ['START', 'STOP']);
  });

  test('a message without an id is identified by its signed bytes', async () => {
    const { app, replies } = await testIngest();
    const body = JSON.stringify({ from: '+14155550123', text: 'START' });
    const req = signedJson(body);
    await app.inject(req);
    await app.inject(req);
    assert.equal(replies.length, 1);
  });

  test('Twilio signs no timestamp: the MessageSid alone stops a replay, however late', async () => {
    const { app, replies } = await testIngest();
    const params = { From: '+14155550123', To: '+15005550006', Body: 'START', MessageSid: 'SM1', AccountSid: 'AC1' };
    assert.equal((await app.inject(signedTwilio(params))).statusCode, 200);
    assert.equal((await app.inject(signedTwilio({ ...params, Body: 'STOP', MessageSid: 'SM2' }))).statusCode, 200);
    assert.equal((await app.inject(signedTwilio(params))).statusCode, 200);
    assert.deepEqual(replies.map((r) => r.intent), ['START', 'STOP']);
  });

  test('the ledger is shared: a replay to another ingest process is caught too', async () => {
    const ledger = memoryLedger();
    const a = await testIngest({ webhooks: { replays: ledger } });
    const b = await testIngest({ webhooks: { replays: ledger } });
    const start = signedJson(reply('START', 'm-9'));
    await a.app.inject(start);
    await b.app.inject(start);
    assert.equal(a.replies.length + b.replies.length, 1);
  });

  const statuses: [string, () => InjectOptions, number][] = [
    ['signed 10 minutes ago', () => signedJson(reply('START', 's-1'), Date.now() - 10 * 60_000), 403],
    ['signed 10 minutes in the future', () => signedJson(reply('START', 's-2'), Date.now() + 10 * 60_000), 403],
    ['signed 4 minutes ago: inside the window', () => signedJson(reply('START', 's-3'), Date.now() - 4 * 60_000), 200],
    ['the old scheme: body signed without a timestamp', () => ({ ...signedJson(reply('START', 's-4')), headers: { 'content-type': 'application/json', 'x-signature': signHmac({ secret: 'json-secret', rawBody: reply('START', 's-4') }) } }), 403],
    ['a timestamp swapped after signing', () => {
      const r = signedJson(reply('START', 's-5'), Date.now() - 10 * 60_000);
      return { ...r, headers: { ...r.headers, 'x-signature-timestamp': String(Math.floor(Date.now() / 1000)) } };
    }, 403],
    ['a non-numeric timestamp', () => {
      const body = reply('START', 's-6');
      return { ...signedJson(body), headers: { 'content-type': 'application/json', 'x-signature-timestamp': 'soon', 'x-signature': signHmac({ secret: 'json-secret', rawBody: body, timestamp: 'soon' }) } };
    }, 403],
    ['no signature at all', () => ({ method: 'POST', url: JSON_PATH, headers: { 'content-type': 'application/json' }, payload: reply('STOP', 's-7') }), 403],
    ['a Twilio signature for another URL', () => ({ ...signedTwilio({ From: '+14155550123', Body: 'START', MessageSid: 'SM9' }), url: '/v1/webhooks/sms/twilio/inbound?x=1' }), 403],
    ['an unknown provider', () => ({ ...signedJson(reply('STOP', 's-8')), url: '/v1/webhooks/sms/nobody/inbound' }), 404],
    ['the wrong content type', () => ({ ...signedJson(reply('STOP', 's-9')), headers: { ...signedJson(reply('STOP', 's-9')).headers, 'content-type': 'text/plain' } }), 415],
    ['a body over 64 KB', () => signedJson(JSON.stringify({ from: '+14155550123', text: 'x'.repeat(70_000) })), 413],
  ];
  for (const [what, request, status] of statuses) {
    test(`${status} ${what}`, async () => {
      const { app, replies } = await testIngest();
      const res = await app.inject(request());
      assert.equal(res.statusCode, status, res.body.slice(0, 200));
      if (status !== 200) assert.equal(replies.length, 0, 'nothing recorded');
    });
  }
});
