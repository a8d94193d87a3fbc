/** The Twilio sandbox's list endpoint as the adapter's lookup reads it, and its delivery receipts. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { createAdapter, type SmsAdapter, type SmsAdapterConfigInput, type SmsMessage } from '../../src/sinks/sms/adapters/index.js';
import { verifyTwilioSignature } from '../../src/sinks/sms/signature.js';
import { startTwilioSandbox, type TwilioSandbox } from '../../sandbox/sms-providers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-test-token';
const FROM = '+15005550006';
const config = (s: TwilioSandbox, o: Record<string, unknown> = {}): SmsAdapterConfigInput =>
  ({ kind: 'twilio', baseUrl: s.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: FROM, timeoutMs: 1_000, ratePerSecond: 1_000, burst: 100, ...o }) as SmsAdapterConfigInput;

let counter = 0;
function message(overrides: Partial<SmsMessage> = {}): SmsMessage {
  const n = ++counter;
  const leadId = `0190a1b2-0000-7000-a000-${String(n).padStart(12, '0')}`;
  return { leadId, to: `+1415555${String(n).padStart(4, '0')}`, body: 'Hi Ana, jobs near Austin. Reply STOP to opt out.', idempotencyKey: `${leadId}:sms:twilio`, ...overrides };
}
const lookupOf = (msg: SmsMessage, since = Date.now() - 5_000) => ({ to: msg.to, idempotencyKey: msg.idempotencyKey, since });

describe('twilio lookup against the sandbox Messages list', () => {
  let server: TwilioSandbox;
  let adapter: SmsAdapter;
  before(async () => {
    server = await startTwilioSandbox({ port: 0, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    adapter = createAdapter(config(server));
  });
  after(async () => {
    await adapter.close();
    await server.close();
  });

  test('matches by phone, our sender and time: an older text or another sender does not count', async () => {
    const msg = message();
    const sent = await adapter.send(msg);
    assert.ok(sent.ok);
    assert.equal((await adapter.lookup(lookupOf(msg, Date.now() + 30_000))).found, true, 'within the minute of clock skew');
    assert.deepEqual(await adapter.lookup(lookupOf(msg, Date.now() + 120_000)), { found: false }, 'sent before the attempt started');
    const other = createAdapter(config(server, { from: '+15005550001' }));
    try {
      assert.deepEqual(await other.lookup(lookupOf(msg)), { found: false });
    } finally {
      await other.close();
    }
  });

  test('a full page without ours: unknown (it may be on a later page)', async () => {
    const msg = message();
    for (let i = 0; i < 51; i++) server.sent.push({ id: `SMold${i}`, to: msg.to, key: null, at: Date.now(), from: FROM, body: 'x', status: 'undelivered' });
    const res = await adapter.lookup(lookupOf(msg));
    assert.equal(res.found, 'unknown', JSON.stringify(res));
  });

  test('the list speaks Twilio: To/From/DateSent> filters, newest first, RFC 2822 dates, basic auth', async () => {
    const a = message();
    assert.ok((await adapter.send(a)).ok);
    assert.ok((await adapter.send({ ...a, leadId: 'other', idempotencyKey: 'other:sms:twilio' })).ok);
    const today = new Date().toISOString().slice(0, 10);
    const url = `${server.url}/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json?${new URLSearchParams({ To: a.to, 'DateSent>': today, PageSize: '1' })}`;
    const auth = `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`;
    const res = await request(url, { headers: { authorization: auth } });
    const page = (await res.body.json()) as { messages: { sid: string; to: string; date_created: string }[]; next_page_uri: string | null };
    assert.equal(res.statusCode, 200);
    assert.deepEqual(page.messages.map((m) => m.sid), [server.sent.at(-1)?.id]);
    assert.match(page.messages[0]?.date_created ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    assert.ok(page.next_page_uri);
    const denied = await request(url);
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
  });
});

describe('twilio sandbox delivery receipts', () => {
  let sandbox: TwilioSandbox;
  let adapter: SmsAdapter;
  let hook: http.Server;
  let hookUrl: string;
  const arrived: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  before(async () => {
    sandbox = await startTwilioSandbox({ port: 0, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    adapter = createAdapter(config(sandbox));
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        arrived.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/webhooks/sms/twilio/status?x=1`;
  });
  after(async () => {
    await adapter.close();
    await sandbox.close();
    await new Promise((r) => hook.close(r));
  });

  test('off by default: no receipt is sent', async () => {
    const res = await adapter.send(message({ statusCallbackUrl: hookUrl }));
    assert.ok(res.ok);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(arrived.length, 0);
    assert.equal(sandbox.receipts.length, 0);
  });

  test('when on: a signed "delivered" receipt with MessageSid, To and From reaches StatusCallback', async () => {
    sandbox.setDeliveryReceipts(true, 10);
    const msg = message({ statusCallbackUrl: hookUrl });
    const res = await adapter.send(msg);
    assert.ok(res.ok);
    // Wait for both ends: the hook has the request, and the sandbox has read the hook's answer.
    for (let i = 0; i < 250 && (arrived.length === 0 || sandbox.receipts[0]?.status == null); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(arrived.length, 1);
    const got = arrived[0]!;
    const params = Object.fromEntries(new URLSearchParams(got.body));
    assert.equal(params.MessageSid, res.providerMessageId);
    assert.equal(params.MessageStatus, 'delivered');
    assert.equal(params.To, msg.to);
    assert.equal(params.From, FROM);
    const signature = got.headers['x-twilio-signature'] as string;
    assert.equal(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: hookUrl, params, signature }), true);
    assert.equal(verifyTwilioSignature({ authToken: 'other', url: hookUrl, params, signature }), false);
    assert.equal(sandbox.receipts[0]?.status, 204);
    assert.equal(sandbox.sent.find((t) => t.id === res.providerMessageId)?.status, 'delivered');
  });
});
