import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import {
  smsWebhooksPlugin,
  smsWebhookProvidersFromConfig,
  twilioUrlCandidates,
  START_CONFIRMATION,
  STOP_CONFIRMATION,
  type DeliveryReceipt,
  type InboundReply,
  type SmsWebhookDeps,
} from '../../src/ingest/sms-webhooks-plugin.js';
import { hmacHeaders, signHmac, signTwilio } from '../../src/sinks/sms/signature.js';
import { startTwilioSandbox } from '../../sandbox/sms-providers.js';

const BASE = 'https://router.example.com';
const AUTH_TOKEN = 'twilio-webhook-token';
const JSON_SECRET = 'json-webhook-secret';
const XML_SECRET = 'xml-webhook-secret';
const NOW = 1_767_225_600_000;
const HELP = 'Acme Jobs: job alerts by text. Reply STOP to opt out. Msg & data rates may apply.';

const FORM = 'application/x-www-form-urlencoded';

interface Harness {
  app: FastifyInstance;
  replies: InboundReply[];
  receipts: DeliveryReceipt[];
}

async function build(overrides: Partial<SmsWebhookDeps> & { failReply?: boolean; failReceipt?: boolean } = {}): Promise<Harness> {
  const replies: InboundReply[] = [];
  const receipts: DeliveryReceipt[] = [];
  const { failReply, failReceipt, ...rest } = overrides;
  const app = Fastify();
  await app.register(smsWebhooksPlugin, {
    providers: {
      twilio: { kind: 'twilio', authToken: AUTH_TOKEN },
      eurosms: { kind: 'json', webhookSecret: JSON_SECRET },
      xmlsms: { kind: 'xml', webhookSecret: XML_SECRET, defaultCountry: 'GB' },
      unsigned: { kind: 'json' },
    },
    publicBaseUrl: BASE,
    helpText: HELP,
    now: () => NOW,
    async onReply(r) {
      if (failReply) throw new Error('kafka: not enough in-sync replicas');
      replies.push(r);
    },
    async onReceipt(r) {
      if (failReceipt) throw new Error('kafka: request timed out');
      receipts.push(r);
    },
    ...rest,
  });
  return { app, replies, receipts };
}

let sidSeq = 0;
/** What Twilio posts for an inbound SMS (a realistic subset of its ~20 params); each call is a new message (its own MessageSid). */
function twilioInbound(overrides: Record<string, string> = {}): Record<string, string> {
  const sid = `SM${String(++sidSeq).padStart(32, '0')}`;
  return {
    ToCountry: 'US',
    SmsMessageSid: sid,
    NumMedia: '0',
    SmsSid: sid,
    SmsStatus: 'received',
    Body: 'STOP',
    To: '+15005550006',
    MessageSid: sid,
    AccountSid: 'ACsandbox0000000000000000000000000',
    From: '+14155550123',
    ApiVersion: '2010-04-01',
    ...overrides,
  };
}

function postTwilio(
  app: FastifyInstance,
  path: string,
  params: Record<string, string>,
  opts: { signature?: string | null; signedParams?: Record<string, string>; signedUrl?: string } = {},
) {
  const signature =
    opts.signature === undefined
      ? signTwilio({ authToken: AUTH_TOKEN, url: opts.signedUrl ?? BASE + path, params: opts.signedParams ?? params })
      : opts.signature;
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': FORM, ...(signature === null ? {} : { 'x-twilio-signature': signature }) },
    payload: new URLSearchParams(params).toString(),
  });
}

function postSigned(app: FastifyInstance, path: string, contentType: string, body: string, secret: string | null) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': contentType, ...(secret === null ? {} : hmacHeaders(secret, body, NOW)) },
    payload: body,
  });
}

const inboundXml = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><inbound>${inner}</inbound>`;

describe('inbound replies: twilio', () => {
  test('a signed STOP is recorded with intent STOP and answered with a TwiML confirmation', async () => {
    const { app, replies } = await build();
    const res = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound({ MessageSid: 'SM0123456789abcdef0123456789abcdef' }));
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/xml/);
    assert.equal(res.body, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${STOP_CONFIRMATION}</Message></Response>`);
    assert.match(STOP_CONFIRMATION, /^You are unsubscribed/);
    assert.deepEqual(replies, [
      {
        provider: 'twilio',
        from: '+14155550123',
        to: '+15005550006',
        text: 'STOP',
        intent: 'STOP',
        providerMessageId: 'SM0123456789abcdef0123456789abcdef',
        receivedAt: NOW,
      },
    ]);
  });

  test('the signature covers the decoded form values ("+", spaces, emoji, "&" in the text)', async () => {
    const { app, replies } = await build();
    const body = 'pls stop 🛑 texting me & my wife +1';
    const res = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound({ Body: body }));
    assert.equal(res.statusCode, 200);
    assert.equal(replies[0]?.text, body);
    assert.equal(replies[0]?.intent, 'STOP');
  });

  test('a tampered body (signed STOP, sent START) is refused 403 and nothing is recorded', async () => {
    const { app, replies } = await build();
    const res = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound({ Body: 'START' }), { signedParams: twilioInbound({ Body: 'STOP' }) });
    assert.equal(res.statusCode, 403);
    assert.equal(replies.length, 0);
  });

  test('a signature made with another token, or for another URL, is refused 403', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/twilio/inbound';
    const params = twilioInbound();
    const otherToken = signTwilio({ authToken: 'not-our-token', url: BASE + path, params });
    assert.equal((await postTwilio(app, path, params, { signature: otherToken })).statusCode, 403);
    assert.equal((await postTwilio(app, path, params, { signedUrl: `http://router.example.com${path}` })).statusCode, 403, 'scheme is signed');
    assert.equal((await postTwilio(app, path, params, { signedUrl: `${BASE}/v1/webhooks/sms/twilio/status` })).statusCode, 403, 'path is signed');
    assert.equal(replies.length, 0);
  });

  test('a missing signature is refused 403 and nothing is recorded', async () => {
    const { app, replies } = await build();
    const res = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound(), { signature: null });
    assert.equal(res.statusCode, 403);
    assert.equal(replies.length, 0);
  });

  test('the query string is part of the signed URL', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/twilio/inbound?tenant=acme';
    const params = twilioInbound();
    assert.equal((await postTwilio(app, path, params)).statusCode, 200);
    assert.equal((await postTwilio(app, path, params, { signedUrl: `${BASE}/v1/webhooks/sms/twilio/inbound` })).statusCode, 403);
    assert.equal(replies.length, 1);
  });

  test('a URL signed with the explicit default port (":443") is accepted, as Twilio may sign it', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/twilio/inbound';
    const res = await postTwilio(app, path, twilioInbound(), { signedUrl: `https://router.example.com:443${path}` });
    assert.equal(res.statusCode, 200);
    assert.equal(replies.length, 1);
    assert.deepEqual(twilioUrlCandidates('http://h:8080/x'), ['http://h:8080/x'], 'a non-default port is never dropped');
    assert.deepEqual(twilioUrlCandidates('http://h:80/x?a=1'), ['http://h:80/x?a=1', 'http://h/x?a=1']);
  });

  test('without publicBaseUrl the signed URL is rebuilt from the Host header and protocol', async () => {
    const { app, replies } = await build({ publicBaseUrl: undefined });
    const path = '/v1/webhooks/sms/twilio/inbound';
    const params = twilioInbound();
    const send = (signedUrl: string) =>
      app.inject({
        method: 'POST',
        url: path,
        headers: { host: 'router.internal:3000', 'content-type': FORM, 'x-twilio-signature': signTwilio({ authToken: AUTH_TOKEN, url: signedUrl, params }) },
        payload: new URLSearchParams(params).toString(),
      });
    assert.equal((await send(`http://router.internal:3000${path}`)).statusCode, 200);
    assert.equal((await send(`${BASE}${path}`)).statusCode, 403);
    assert.equal(replies.length, 1);
  });

  test('HELP answers the configured help text (XML-escaped); START a confirmation; anything else an empty <Response/>', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/twilio/inbound';
    const help = await postTwilio(app, path, twilioInbound({ Body: 'help' }));
    assert.equal(help.statusCode, 200);
    assert.equal(help.body, `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${HELP.replace('&', '&amp;')}</Message></Response>`);
    const start = await postTwilio(app, path, twilioInbound({ Body: 'START' }));
    assert.match(start.body, new RegExp(`<Message>${START_CONFIRMATION}</Message>`));
    const other = await postTwilio(app, path, twilioInbound({ Body: 'what does it pay?' }));
    assert.equal(other.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>');
    const more = await postTwilio(app, path, twilioInbound({ Body: 'more' }));
    assert.equal(more.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>');
    assert.deepEqual(replies.map((r) => r.intent), ['HELP', 'START', 'OTHER', 'MORE']);
  });

  test('a picture-only message (empty Body) is recorded as OTHER, but a missing From or Body is 400 naming it', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/twilio/inbound';
    assert.equal((await postTwilio(app, path, twilioInbound({ Body: '', NumMedia: '1' }))).statusCode, 200);
    assert.equal(replies[0]?.intent, 'OTHER');

    const { From: _f, ...noFrom } = twilioInbound();
    const r1 = await postTwilio(app, path, noFrom);
    assert.equal(r1.statusCode, 400);
    assert.equal(r1.json().field, 'From');
    assert.match(r1.json().message, /From/);

    const { Body: _b, ...noBody } = twilioInbound();
    const r2 = await postTwilio(app, path, noBody);
    assert.equal(r2.statusCode, 400);
    assert.equal(r2.json().field, 'Body');
    assert.equal(replies.length, 1);
  });

  test('onReply failing answers 503 (Twilio retries / falls back), never 2xx', async () => {
    const { app, replies } = await build({ failReply: true });
    const res = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound());
    assert.equal(res.statusCode, 503);
    assert.doesNotMatch(res.body, /<Message>/, 'no confirmation for an opt-out we did not record');
    assert.equal(replies.length, 0);
  });

  test('a JSON body sent to the twilio provider is 415, not parsed', async () => {
    const { app, replies } = await build();
    const body = JSON.stringify({ From: '+14155550123', Body: 'STOP' });
    const res = await postSigned(app, '/v1/webhooks/sms/twilio/inbound', 'application/json', body, JSON_SECRET);
    assert.equal(res.statusCode, 415);
    assert.match(res.json().message, /x-www-form-urlencoded/);
    assert.equal(replies.length, 0);
  });
});

describe('inbound replies: json and xml providers', () => {
  test('json: a good HMAC of the raw body is accepted, from is normalized to E.164, the ack carries the intent', async () => {
    const { app, replies } = await build();
    // Odd spacing and key order: the HMAC is over the bytes as sent, not a re-serialization.
    const body = '{ "text" : "Stop texting me",  "from":"447700900123", "to":"LEADROUTER", "id": 42 }';
    const res = await postSigned(app, '/v1/webhooks/sms/eurosms/inbound', 'application/json; charset=utf-8', body, JSON_SECRET);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { ok: true, intent: 'STOP' });
    assert.deepEqual(replies, [
      { provider: 'eurosms', from: '+447700900123', to: 'LEADROUTER', text: 'Stop texting me', intent: 'STOP', providerMessageId: '42', receivedAt: NOW },
    ]);
  });

  test('json: a bad HMAC, a tampered body, a missing or malformed header are all 403 and nothing is recorded', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/eurosms/inbound';
    const body = JSON.stringify({ from: '+447700900123', to: null, text: 'START', id: 'm1' });
    assert.equal((await postSigned(app, path, 'application/json', body, 'wrong-secret')).statusCode, 403);
    assert.equal((await postSigned(app, path, 'application/json', body, null)).statusCode, 403);
    const signedStop = signHmac({ secret: JSON_SECRET, rawBody: body.replace('START', 'STOP ') });
    const tampered = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-signature': signedStop }, payload: body });
    assert.equal(tampered.statusCode, 403);
    const bare = signHmac({ secret: JSON_SECRET, rawBody: body }).replace('sha256=', '');
    const noPrefix = await app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', 'x-signature': bare }, payload: body });
    assert.equal(noPrefix.statusCode, 403);
    assert.equal(replies.length, 0);
    // and the control: the same body correctly signed goes through
    assert.equal((await postSigned(app, path, 'application/json', body, JSON_SECRET)).statusCode, 200);
    assert.equal(replies.length, 1);
  });

  test('the signature is checked before the body is read: unsigned garbage is 403, signed garbage is 400', async () => {
    const { app } = await build();
    const path = '/v1/webhooks/sms/eurosms/inbound';
    assert.equal((await postSigned(app, path, 'application/json', '{"from":', null)).statusCode, 403);
    const signed = await postSigned(app, path, 'application/json', '{"from":', JSON_SECRET);
    assert.equal(signed.statusCode, 400);
    assert.equal(signed.json().error, 'invalid_json');
  });

  test('a json/xml provider configured without a webhookSecret refuses everything (fails closed)', async () => {
    const { app, replies } = await build();
    const body = JSON.stringify({ from: '+447700900123', text: 'STOP' });
    assert.equal((await postSigned(app, '/v1/webhooks/sms/unsigned/inbound', 'application/json', body, '')).statusCode, 403);
    assert.equal((await postSigned(app, '/v1/webhooks/sms/unsigned/inbound', 'application/json', body, null)).statusCode, 403);
    assert.equal(replies.length, 0);
  });

  test('from normalization: E.164 kept, international digits get their +, national numbers need the provider\'s country', async () => {
    const { app, replies } = await build();
    const send = (provider: string, from: string) =>
      provider === 'eurosms'
        ? postSigned(app, `/v1/webhooks/sms/eurosms/inbound`, 'application/json', JSON.stringify({ from, text: 'STOP' }), JSON_SECRET)
        : postSigned(app, `/v1/webhooks/sms/xmlsms/inbound`, 'application/xml', inboundXml(`<from>${from}</from><text>STOP</text>`), XML_SECRET);
    const cases: [string, string, string][] = [
      ['eurosms', '+1 (415) 555-0123', '+14155550123'],
      ['eurosms', '447911123456', '+447911123456'],
      ['eurosms', 'tel:+447911123456', '+447911123456'],
      ['xmlsms', '07911 123456', '+447911123456'],
      // Ofcom's drama range: possible but not "valid" in libphonenumber's metadata; a STOP from it must still count.
      ['eurosms', '+447700900123', '+447700900123'],
    ];
    for (const [provider, from, e164] of cases) {
      const res = await send(provider, from);
      assert.equal(res.statusCode, 200, `${provider} ${from}: ${res.body}`);
      assert.equal(replies.at(-1)?.from, e164, from);
    }
    // eurosms serves two markets, so it has no default country: a national number is ambiguous.
    const national = await send('eurosms', '07911 123456');
    assert.equal(national.statusCode, 400);
    assert.equal(national.json().field, 'from');
    assert.equal(replies.length, cases.length);
  });

  test('json: missing or wrongly typed fields are 400 naming the field, nothing recorded', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/eurosms/inbound';
    const cases: [Record<string, unknown>, string][] = [
      [{ from: '+447700900123', id: 'm1' }, 'text'],
      [{ text: 'STOP' }, 'from'],
      [{ from: '', text: 'STOP' }, 'from'],
      [{ from: '+447700900123', text: ['STOP'] }, 'text'],
      [{ from: 'not a number', text: 'STOP' }, 'from'],
      [{ from: '12', text: 'STOP' }, 'from'],
    ];
    for (const [payload, field] of cases) {
      const res = await postSigned(app, path, 'application/json', JSON.stringify(payload), JSON_SECRET);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().field, field, JSON.stringify(payload));
      assert.match(res.json().message, new RegExp(field));
    }
    const notObject = await postSigned(app, path, 'application/json', '["STOP"]', JSON_SECRET);
    assert.equal(notObject.statusCode, 400);
    assert.equal(replies.length, 0);
  });

  test('xml: an <inbound> document is read (national number in the provider country, id kept as a string) and acked in XML', async () => {
    const { app, replies } = await build();
    const body = inboundXml('<from>07700 900123</from><to>LEADROUTER</to><text>HELP</text><id>00123</id>');
    const res = await postSigned(app, '/v1/webhooks/sms/xmlsms/inbound', 'text/xml', body, XML_SECRET);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/xml/);
    assert.equal(res.body, '<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status><intent>HELP</intent></response>');
    assert.deepEqual(replies, [
      { provider: 'xmlsms', from: '+447700900123', to: 'LEADROUTER', text: 'HELP', intent: 'HELP', providerMessageId: '00123', receivedAt: NOW },
    ]);
  });

  test('xml: entities are decoded; a bad signature is 403 in the XML error envelope', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/xmlsms/inbound';
    const body = inboundXml('<from>+447700900123</from><text>no more texts &amp; calls</text>');
    const bad = await postSigned(app, path, 'application/xml', body, JSON_SECRET);
    assert.equal(bad.statusCode, 403);
    assert.match(bad.body, /<response><status>ERROR<\/status><code>forbidden<\/code>/);
    assert.equal(replies.length, 0);
    const ok = await postSigned(app, path, 'application/xml; charset=utf-8', body, XML_SECRET);
    assert.equal(ok.statusCode, 200);
    assert.equal(replies[0]?.text, 'no more texts & calls');
    assert.equal(replies[0]?.intent, 'STOP');
    assert.equal(replies[0]?.to, null);
    assert.equal(replies[0]?.providerMessageId, null);
  });

  test('xml: a missing element, a repeated one, or a document that is not <inbound> is 400 naming it', async () => {
    const { app, replies } = await build();
    const path = '/v1/webhooks/sms/xmlsms/inbound';
    const noText = await postSigned(app, path, 'application/xml', inboundXml('<from>+447700900123</from>'), XML_SECRET);
    assert.equal(noText.statusCode, 400);
    assert.match(noText.body, /<code>missing_field<\/code><error>missing field: text<\/error>/);
    const twice = await postSigned(app, path, 'application/xml', inboundXml('<from>+447700900123</from><text>a</text><text>b</text>'), XML_SECRET);
    assert.equal(twice.statusCode, 400);
    assert.match(twice.body, /text/);
    const outbound = await postSigned(app, path, 'application/xml', '<message><to>+447700900123</to><text>STOP</text></message>', XML_SECRET);
    assert.equal(outbound.statusCode, 400);
    assert.match(outbound.body, /not an &lt;inbound&gt; document/);
    const truncated = await postSigned(app, path, 'application/xml', '<inbound><from>+447700900123</from><text>STOP', XML_SECRET);
    assert.equal(truncated.statusCode, 400);
    assert.equal(replies.length, 0);
  });

  test('json: onReply failing answers 503', async () => {
    const { app } = await build({ failReply: true });
    const body = JSON.stringify({ from: '+447700900123', text: 'STOP' });
    const res = await postSigned(app, '/v1/webhooks/sms/eurosms/inbound', 'application/json', body, JSON_SECRET);
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error, 'unavailable');
  });
});

describe('routing', () => {
  test('an unknown provider is 404 before its body is looked at; inherited names are not providers', async () => {
    const { app, replies } = await build();
    for (const name of ['nosuch', 'constructor', '__proto__', 'toString']) {
      const res = await app.inject({ method: 'POST', url: `/v1/webhooks/sms/${name}/inbound`, headers: { 'content-type': 'text/plain' }, payload: 'STOP' });
      assert.equal(res.statusCode, 404, name);
    }
    const status = await postTwilio(app, '/v1/webhooks/sms/nosuch/status', { MessageSid: 'SM1', MessageStatus: 'delivered' });
    assert.equal(status.statusCode, 404);
    assert.equal(replies.length, 0);
  });

  test('registered next to a JSON-only route, the plugin does not make that route accept form, XML or text bodies', async () => {
    // A tiny app shaped like src/ingest/app.ts.
    const app = Fastify();
    app.removeContentTypeParser('text/plain');
    app.post('/v1/leads', { schema: { body: { type: 'object', required: ['email'], properties: { email: { type: 'string' } } } } }, async (req) => ({
      got: typeof req.body,
      email: (req.body as { email: string }).email,
    }));
    const replies: InboundReply[] = [];
    await app.register(smsWebhooksPlugin, {
      providers: { twilio: { kind: 'twilio', authToken: AUTH_TOKEN } },
      publicBaseUrl: BASE,
      onReply: async (r) => void replies.push(r),
      onReceipt: async () => {},
    });

    const form = await app.inject({ method: 'POST', url: '/v1/leads', headers: { 'content-type': FORM }, payload: 'email=a%40b.c' });
    assert.equal(form.statusCode, 415);
    const xml = await app.inject({ method: 'POST', url: '/v1/leads', headers: { 'content-type': 'application/xml' }, payload: '<lead><email>a@b.c</email></lead>' });
    assert.equal(xml.statusCode, 415);
    const text = await app.inject({ method: 'POST', url: '/v1/leads', headers: { 'content-type': 'text/plain' }, payload: 'a@b.c' });
    assert.equal(text.statusCode, 415);
    // The plugin's raw-keeping JSON parser stays inside the plugin: the lead route still gets a parsed object.
    const json = await app.inject({ method: 'POST', url: '/v1/leads', payload: { email: 'a@b.c' } });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.json(), { got: 'object', email: 'a@b.c' });
    const broken = await app.inject({ method: 'POST', url: '/v1/leads', headers: { 'content-type': 'application/json' }, payload: '{"email":' });
    assert.equal(broken.statusCode, 400);

    // ...while the webhook in the same instance does take form bodies.
    const hook = await postTwilio(app, '/v1/webhooks/sms/twilio/inbound', twilioInbound());
    assert.equal(hook.statusCode, 200);
    assert.equal(replies.length, 1);
  });

  test('text/plain to a webhook is 415', async () => {
    const { app } = await build();
    const res = await app.inject({ method: 'POST', url: '/v1/webhooks/sms/eurosms/inbound', headers: { 'content-type': 'text/plain' }, payload: 'STOP' });
    assert.equal(res.statusCode, 415);
  });
});

describe('delivery receipts', () => {
  const statusPath = '/v1/webhooks/sms/twilio/status';
  /** What sandbox/sms-providers.ts (and Twilio) post to a StatusCallback. */
  const twilioReceipt = (status: string, extra: Record<string, string> = {}) => ({
    AccountSid: 'ACsandbox0000000000000000000000000',
    ApiVersion: '2010-04-01',
    From: '+15005550006',
    MessageSid: 'SMabc',
    MessageStatus: status,
    SmsSid: 'SMabc',
    SmsStatus: status,
    To: '+14155550123',
    ...extra,
  });

  test('twilio statuses are mapped onto ours, with the ErrorCode', async () => {
    const { app, receipts } = await build();
    const table: [string, DeliveryReceipt['status']][] = [
      ['queued', 'queued'],
      ['accepted', 'queued'],
      ['scheduled', 'queued'],
      ['sending', 'sent'],
      ['sent', 'sent'],
      ['delivered', 'delivered'],
      ['read', 'delivered'],
      ['failed', 'failed'],
      ['undelivered', 'undelivered'],
    ];
    for (const [twilio] of table) {
      const res = await postTwilio(app, statusPath, twilioReceipt(twilio));
      assert.equal(res.statusCode, 204, twilio);
    }
    assert.deepEqual(receipts.map((r) => r.status), table.map(([, ours]) => ours));
    await postTwilio(app, statusPath, twilioReceipt('undelivered', { ErrorCode: '30003' }));
    assert.deepEqual(receipts.at(-1), { provider: 'twilio', providerMessageId: 'SMabc', status: 'undelivered', errorCode: '30003', at: NOW });
    assert.equal(receipts[0]?.errorCode, null);
  });

  test('a repeated identical callback answers success each time and hands over identical receipts', async () => {
    const { app, receipts } = await build();
    const first = await postTwilio(app, statusPath, twilioReceipt('delivered'));
    const second = await postTwilio(app, statusPath, twilioReceipt('delivered'));
    assert.equal(first.statusCode, 204);
    assert.equal(second.statusCode, 204);
    assert.equal(receipts.length, 2);
    assert.deepEqual(receipts[0], receipts[1]);
    assert.deepEqual(receipts[0], { provider: 'twilio', providerMessageId: 'SMabc', status: 'delivered', errorCode: null, at: NOW });
  });

  test('an unknown status is 400 naming the field; nothing recorded', async () => {
    const { app, receipts } = await build();
    const res = await postTwilio(app, statusPath, twilioReceipt('exploded'));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().field, 'MessageStatus');
    assert.match(res.json().message, /exploded/);
    const json = await postSigned(app, '/v1/webhooks/sms/eurosms/status', 'application/json', JSON.stringify({ id: 'm1', status: 'lost' }), JSON_SECRET);
    assert.equal(json.statusCode, 400);
    assert.equal(json.json().field, 'status');
    for (const inherited of ['constructor', '__proto__', 'toString']) {
      const res = await postTwilio(app, statusPath, twilioReceipt(inherited));
      assert.equal(res.statusCode, 400, inherited);
    }
    const { MessageSid: _s, ...noSid } = twilioReceipt('delivered');
    const missing = await postTwilio(app, statusPath, noSid);
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().field, 'MessageSid');
    assert.equal(receipts.length, 0);
  });

  test('receipts need the same signatures: tampered or missing is 403 and nothing recorded', async () => {
    const { app, receipts } = await build();
    assert.equal((await postTwilio(app, statusPath, twilioReceipt('delivered'), { signature: null })).statusCode, 403);
    assert.equal((await postTwilio(app, statusPath, twilioReceipt('delivered'), { signedParams: twilioReceipt('failed') })).statusCode, 403);
    const body = JSON.stringify({ id: 'm1', status: 'delivered' });
    assert.equal((await postSigned(app, '/v1/webhooks/sms/eurosms/status', 'application/json', body, 'nope')).statusCode, 403);
    assert.equal(receipts.length, 0);
  });

  test('json and xml receipts', async () => {
    const { app, receipts } = await build();
    const json = await postSigned(app, '/v1/webhooks/sms/eurosms/status', 'application/json', JSON.stringify({ id: 'msg_1', status: 'FAILED', errorCode: 4001 }), JSON_SECRET);
    assert.equal(json.statusCode, 204);
    const xmlBody = '<?xml version="1.0"?><receipt><id>X00AB</id><status>delivered</status><errorCode/></receipt>';
    const xml = await postSigned(app, '/v1/webhooks/sms/xmlsms/status', 'application/xml', xmlBody, XML_SECRET);
    assert.equal(xml.statusCode, 204);
    assert.deepEqual(receipts, [
      { provider: 'eurosms', providerMessageId: 'msg_1', status: 'failed', errorCode: '4001', at: NOW },
      { provider: 'xmlsms', providerMessageId: 'X00AB', status: 'delivered', errorCode: null, at: NOW },
    ]);
  });

  test('onReceipt failing answers 503', async () => {
    const { app } = await build({ failReceipt: true });
    const res = await postTwilio(app, statusPath, twilioReceipt('delivered'));
    assert.equal(res.statusCode, 503);
  });

  test('over real HTTP: the Twilio sandbox\'s signed StatusCallback is accepted (URL rebuilt from the Host header)', async () => {
    const receipts: DeliveryReceipt[] = [];
    const app = Fastify();
    await app.register(smsWebhooksPlugin, {
      providers: { twilio: { kind: 'twilio', authToken: AUTH_TOKEN } },
      onReply: async () => {},
      onReceipt: async (r) => void receipts.push(r),
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const sandbox = await startTwilioSandbox({ port: 0, accountSid: 'ACtest', authToken: AUTH_TOKEN, deliveryReceipts: true, receiptDelayMs: 1 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const callback = `http://127.0.0.1:${port}${statusPath}`;
      const sent = await request(`${sandbox.url}/2010-04-01/Accounts/ACtest/Messages.json`, {
        method: 'POST',
        headers: { 'content-type': FORM, authorization: `Basic ${Buffer.from(`ACtest:${AUTH_TOKEN}`).toString('base64')}` },
        body: new URLSearchParams({ To: '+14155550123', From: '+15005550006', Body: 'hi', StatusCallback: callback }).toString(),
      });
      const { sid } = (await sent.body.json()) as { sid: string };
      const deadline = Date.now() + 3_000;
      while (sandbox.receipts[0]?.status == null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sandbox.receipts[0]?.status, 204, sandbox.receipts[0]?.error);
      assert.equal(receipts[0]?.providerMessageId, sid);
      assert.equal(receipts[0]?.status, 'delivered');
    } finally {
      await sandbox.close();
      await app.close();
    }
  });
});

describe('wiring helper', () => {
  test('smsWebhookProvidersFromConfig takes twilio authToken, json/xml webhookSecret and a single market as the default country', () => {
    const got = smsWebhookProvidersFromConfig({
      twilio: { kind: 'twilio', markets: ['US'], authToken: 'tok', apiKey: 'ignored' },
      eurosms: { kind: 'json', markets: ['US', 'UK'], apiKey: 'k', webhookSecret: 's' },
      uk: { kind: 'xml', markets: ['UK'], apiKey: 'k' },
    });
    assert.deepEqual(got, {
      twilio: { kind: 'twilio', authToken: 'tok', defaultCountry: 'US' },
      eurosms: { kind: 'json', webhookSecret: 's' },
      uk: { kind: 'xml', webhookSecret: undefined, defaultCountry: 'GB' },
    });
  });
});
