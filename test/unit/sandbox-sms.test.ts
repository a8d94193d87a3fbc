import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { request } from 'undici';
import { createAdapter, type SmsMessage } from '../../src/sinks/sms/adapters/index.js';
import { startBuyer } from '../../sandbox/buyer.js';
import { startSandbox } from '../../sandbox/index.js';
import { startJsonSmsSandbox, startTwilioSandbox } from '../../sandbox/sms-providers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-test-token';
const pacing = { from: '+15005550006', timeoutMs: 1_000, ratePerSecond: 1_000, burst: 100 };

let counter = 0;
function message(overrides: Partial<SmsMessage> = {}): SmsMessage {
  const leadId = `0190a1b2-0000-7000-9000-${String(++counter).padStart(12, '0')}`;
  return { leadId, to: '+14155550123', body: 'Hi Ana, jobs near Austin. Reply STOP to opt out.', idempotencyKey: `${leadId}:sms:test`, ...overrides };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

async function put(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await request(url, { method: 'PUT', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.statusCode, body: await res.body.json() };
}

describe('sandbox SMS provider: who was texted', () => {
  test('without idempotency (the default) a repeated key is a second text: counted, flagged, in /_sandbox/stats', async () => {
    const server = await startJsonSmsSandbox({ port: 0, apiKey: 'k' });
    const adapter = createAdapter({ kind: 'json', baseUrl: server.url, apiKey: 'k', ...pacing });
    try {
      const msg = message({ to: '+14155550001' });
      const [a, b] = [await adapter.send(msg), await adapter.send(msg)];
      assert.ok(a.ok && b.ok && a.providerMessageId !== b.providerMessageId);
      assert.ok((await adapter.send(message({ to: '+14155550002' }))).ok);
      assert.deepEqual(server.received.map((r) => r.duplicate), [false, true, false]);
      assert.deepEqual(server.sent.slice(0, 2).map((t) => t.key), [msg.idempotencyKey, msg.idempotencyKey]);
      assert.deepEqual(server.textedTwice(), ['+14155550001']);
      const expected = { sent: 3, uniquePhones: 2, phonesTextedTwice: 1 };
      assert.deepEqual(server.stats(), expected);
      assert.deepEqual(await getJson(`${server.url}/_sandbox/stats`), { status: 200, body: expected });
      const listed = (await getJson(`${server.url}/_sandbox/sent`)).body as { sent: { id: string }[] };
      assert.deepEqual(listed.sent.map((t) => t.id), server.sent.map((t) => t.id));
    } finally {
      await adapter.close();
      await server.close();
    }
  });

  test('with idempotency: true a repeated key is replayed: same id, nothing sent, not a duplicate', async () => {
    const server = await startTwilioSandbox({ port: 0, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, idempotency: true });
    const adapter = createAdapter({ kind: 'twilio', baseUrl: server.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, ...pacing });
    try {
      const msg = message();
      const [a, b] = [await adapter.send(msg), await adapter.send(msg)];
      assert.ok(a.ok && b.ok && a.providerMessageId === b.providerMessageId);
      assert.deepEqual(server.received.map((r) => [r.duplicate, r.replayed]), [[false, false], [false, true]]);
      assert.deepEqual(server.stats(), { sent: 1, uniquePhones: 1, phonesTextedTwice: 0 });
    } finally {
      await adapter.close();
      await server.close();
    }
  });

  test('startSandbox counts people texted twice across providers (a fallback can be the second text)', async () => {
    const sandbox = await startSandbox({ buyerUs: 0, buyerUk: 0, twilio: 0, jsonSms: 0, xmlSms: 0, verifier: 0 });
    const json = createAdapter({ kind: 'json', baseUrl: sandbox.jsonSms.url, apiKey: 'sandbox-key', ...pacing });
    const xml = createAdapter({ kind: 'xml', baseUrl: sandbox.xmlSms.url, apiKey: 'sandbox-key', ...pacing });
    try {
      assert.ok((await json.send(message({ to: '+14155550003' }))).ok);
      assert.ok((await xml.send(message({ to: '+14155550003' }))).ok);
      assert.ok((await xml.send(message({ to: '+14155550004' }))).ok);
      assert.deepEqual(sandbox.jsonSms.textedTwice(), []);
      assert.deepEqual(sandbox.textedTwice(), ['+14155550003']);
    } finally {
      await Promise.all([json.close(), xml.close()]);
      await sandbox.close();
    }
  });
});

describe('fault server: refuse', () => {
  test('over HTTP, refuse needs refuseForMs; the port then refuses and comes back in the mode it had', async () => {
    const buyer = await startBuyer({ name: 'buyer-t', port: 0 });
    try {
      await buyer.setMode('error500');
      assert.equal((await put(`${buyer.url}/_sandbox/mode`, { mode: 'refuse' })).status, 400);
      assert.equal((await put(`${buyer.url}/_sandbox/mode`, { mode: 'refuse', refuseForMs: 300 })).status, 200);
      await new Promise((r) => setTimeout(r, 50));
      await assert.rejects(request(`${buyer.url}/_sandbox/mode`), (err: { code?: string }) => err.code === 'ECONNREFUSED');
      assert.equal(buyer.getMode().mode, 'refuse');
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual((await getJson(`${buyer.url}/_sandbox/mode`)).body, { mode: 'error500', delayMs: 2_000 });
    } finally {
      await buyer.close();
    }
  });

  test('in-process: setMode resolves when the port is closed / listening again; keep-alive connections are dropped; close() works while refusing', async () => {
    const buyer = await startBuyer({ name: 'buyer-t', port: 0 });
    const lead = JSON.stringify({ leadId: 'L1', email: 'a@example.com' });
    const post = () => request(`${buyer.url}/leads`, { method: 'POST', body: lead, headers: { 'content-type': 'application/json' } });
    const ok = await post();
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    await buyer.setMode('refuse');
    await assert.rejects(post(), (err: { code?: string }) => err.code === 'ECONNREFUSED' || err.code === 'UND_ERR_SOCKET');
    await assert.rejects(post(), (err: { code?: string }) => err.code === 'ECONNREFUSED');
    await buyer.setMode('healthy');
    const back = await post();
    assert.equal(back.statusCode, 200);
    await back.body.dump();
    await buyer.refuseFor(60_000);
    await buyer.close(); // must not wait for the revert timer
  });
});
