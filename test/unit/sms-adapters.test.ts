import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import {
  createAdapter,
  parseSmsAdapterConfig,
  smsAdapterConfigSchema,
  SmsAdapterConfigError,
  type SmsAdapter,
  type SmsAdapterConfigInput,
  type SmsMessage,
} from '../../src/sinks/sms/adapters/index.js';
import { call, createProviderPool } from '../../src/sinks/sms/adapters/http.js';
import { buildLookupXml, parseLookupXml, parseMessageXml } from '../../src/sinks/sms/adapters/xml-codec.js';
import { startJsonSmsSandbox, startTwilioSandbox, startXmlSmsSandbox, type SmsSandbox } from '../../sandbox/sms-providers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-test-token';
const API_KEY = 'test-api-key';

let counter = 0;
/** A fresh lead and a fresh phone each time: Twilio lookups go by phone, so tests must not share one. */
function message(overrides: Partial<SmsMessage> = {}): SmsMessage {
  const n = ++counter;
  const leadId = `0190a1b2-0000-7000-8000-${String(n).padStart(12, '0')}`;
  const to = `+1415555${String(n).padStart(4, '0')}`;
  return { leadId, to, body: 'Hi Ana, Cashier jobs near Austin are hiring now. Reply STOP to opt out.', idempotencyKey: `${leadId}:sms:test`, ...overrides };
}

const lookupOf = (msg: SmsMessage, since = Date.now() - 5_000) => ({ to: msg.to, idempotencyKey: msg.idempotencyKey, since });

interface Provider {
  kind: 'twilio' | 'json' | 'xml';
  start(): Promise<SmsSandbox>;
  config(server: SmsSandbox, overrides?: Record<string, unknown>): SmsAdapterConfigInput;
  badCredentials: Record<string, unknown>;
  /** The To/From/Body the provider received, read back from its wire format. */
  decode(body: string): { to: string; from: string; text: string };
}

const common = { from: '+15005550006', timeoutMs: 1_000, concurrency: 4, ratePerSecond: 1_000, burst: 100 };

const providers: Provider[] = [
  {
    kind: 'twilio',
    start: () => startTwilioSandbox({ port: 0, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    config: (s, o = {}) => ({ kind: 'twilio', baseUrl: s.url, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, ...common, ...o }) as SmsAdapterConfigInput,
    badCredentials: { authToken: 'wrong-token' },
    decode: (b) => {
      const f = new URLSearchParams(b);
      return { to: f.get('To') ?? '', from: f.get('From') ?? '', text: f.get('Body') ?? '' };
    },
  },
  {
    kind: 'json',
    start: () => startJsonSmsSandbox({ port: 0, apiKey: API_KEY }),
    config: (s, o = {}) => ({ kind: 'json', baseUrl: s.url, apiKey: API_KEY, ...common, ...o }) as SmsAdapterConfigInput,
    badCredentials: { apiKey: 'wrong-key' },
    decode: (b) => {
      const j = JSON.parse(b) as { to: string; from: string; text: string };
      return { to: j.to, from: j.from, text: j.text };
    },
  },
  {
    kind: 'xml',
    start: () => startXmlSmsSandbox({ port: 0, apiKey: API_KEY }),
    config: (s, o = {}) => ({ kind: 'xml', baseUrl: s.url, apiKey: API_KEY, ...common, ...o }) as SmsAdapterConfigInput,
    badCredentials: { apiKey: 'wrong-key' },
    decode: (b) => {
      const m = parseMessageXml(b);
      assert.ok(m, `not a <message> document: ${b}`);
      return { to: m.to, from: m.from, text: m.text };
    },
  },
];

async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), 'condition not met in time');
}

for (const p of providers) {
  describe(`${p.kind} adapter against its sandbox`, () => {
    let server: SmsSandbox;
    let adapter: SmsAdapter;
    const extra: SmsAdapter[] = [];
    const make = (o?: Record<string, unknown>): SmsAdapter => {
      const a = createAdapter(p.config(server, o));
      extra.push(a);
      return a;
    };
    const failed = (res: Awaited<ReturnType<SmsAdapter['send']>>) => {
      assert.equal(res.ok, false, JSON.stringify(res));
      return res as Extract<typeof res, { ok: false }>;
    };

    before(async () => {
      server = await p.start();
      adapter = createAdapter(p.config(server));
    });
    after(async () => {
      await Promise.all([adapter.close(), ...extra.map((a) => a.close())]);
      await server.close();
    });

    test('healthy: ok with the provider id, wire format as documented, lead id recorded', async () => {
      await server.setMode('healthy');
      const msg = message({ body: 'Tom & Jerry <jobs> "quoted" café' });
      const res = await adapter.send(msg);
      assert.ok(res.ok && res.providerMessageId.length > 0, JSON.stringify(res));
      assert.equal(adapter.kind, p.kind);
      const rec = server.received.find((r) => r.leadId === msg.leadId);
      assert.ok(rec, 'sandbox recorded the request under the lead id');
      assert.equal(rec.accepted, true);
      assert.equal(rec.duplicate, false);
      assert.deepEqual(p.decode(rec.body), { to: msg.to, from: common.from, text: msg.body });
      assert.equal(server.sent.at(-1)?.id, res.providerMessageId);
    });

    test('refused connection: retriable and certainly not sent; answers again once the port is back', async () => {
      await server.setMode('refuse');
      const res = failed(await make().send(message()));
      await server.setMode('healthy');
      assert.ok(res.retriable && !res.uncertain && res.status === undefined, JSON.stringify(res));
      assert.match(res.error, /not sent.*ECONNREFUSED/);
      assert.equal((await make().send(message())).ok, true, 'same port, listening again');
    });

    test('down (request read, connection dropped): retriable, uncertain, without waiting for the timeout', async () => {
      await server.setMode('down');
      const started = performance.now();
      const res = failed(await make({ timeoutMs: 10_000 }).send(message()));
      const elapsed = performance.now() - started;
      await server.setMode('healthy');
      assert.ok(res.retriable && res.uncertain, JSON.stringify(res));
      assert.ok(elapsed < 5_000, `a dead peer is reported at once, took ${elapsed} ms`);
    });

    test('slow beyond the timeout: uncertain, says timeout; the text did go out and lookup finds it', async () => {
      await server.setMode('slow', 400);
      const msg = message();
      const res = failed(await make({ timeoutMs: 150 }).send(msg));
      assert.ok(res.retriable && res.uncertain, JSON.stringify(res));
      assert.match(res.error, /timeout/i);
      await until(() => server.sent.some((t) => t.key === msg.idempotencyKey));
      await server.setMode('healthy');
      const found = await adapter.lookup(lookupOf(msg));
      assert.deepEqual(found, { found: true, providerMessageId: server.sent.find((t) => t.key === msg.idempotencyKey)?.id });
    });

    test('error500: retriable, certain', async () => {
      await server.setMode('error500');
      const res = failed(await adapter.send(message()));
      await server.setMode('healthy');
      assert.ok(res.retriable && !res.uncertain && res.status === 500, JSON.stringify(res));
    });

    test('malformed 2xx answer: retriable, uncertain', async () => {
      await server.setMode('malformed');
      const res = failed(await adapter.send(message()));
      await server.setMode('healthy');
      assert.ok(res.retriable && res.uncertain && res.status === 200, JSON.stringify(res));
      assert.match(res.error, /unexpected answer/);
    });

    test('bad credentials (401) and invalid number (400): not retriable, certain', async () => {
      const auth = failed(await make(p.badCredentials).send(message()));
      assert.ok(!auth.retriable && !auth.uncertain && auth.status === 401, JSON.stringify(auth));
      const number = failed(await adapter.send(message({ to: '555-0123' })));
      assert.ok(!number.retriable && !number.uncertain && number.status === 400, JSON.stringify(number));
    });

    test('lookup: finds a sent message, not one never sent, nor one the provider failed', async () => {
      const msg = message();
      const sent = await adapter.send(msg);
      assert.ok(sent.ok);
      assert.deepEqual(await adapter.lookup(lookupOf(msg)), { found: true, providerMessageId: sent.providerMessageId });
      assert.deepEqual(await adapter.lookup(lookupOf(message())), { found: false });
      const text = server.sent.find((t) => t.id === sent.providerMessageId);
      assert.ok(text);
      text.status = 'failed';
      assert.deepEqual(await adapter.lookup(lookupOf(msg)), { found: false }, 'a failed message reached nobody');
      text.status = 'delivered';
    });

    for (const mode of ['down', 'refuse', 'error500', 'malformed', 'slow'] as const) {
      test(`lookup when the provider is ${mode}: unknown, with a reason`, async () => {
        const msg = message();
        assert.ok((await adapter.send(msg)).ok);
        await server.setMode(mode, 400);
        const res = await make({ timeoutMs: 150 }).lookup(lookupOf(msg));
        await server.setMode('healthy');
        assert.equal(res.found, 'unknown', JSON.stringify(res));
        assert.ok(res.found === 'unknown' && res.reason.length > 0);
      });
    }
  });
}

describe('certain vs uncertain, at the pool', () => {
  test('a call that timed out waiting for a free connection was never sent; the one on the connection may have been', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('late'), 2_000);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The queued call gives up well before the first one frees the connection: with equal
    // deadlines, a loaded machine sometimes let it onto the connection just freed, and it was
    // then (rightly) uncertain.
    const pool = createProviderPool({ baseUrl, connections: 1, timeoutMs: 900 });
    try {
      const [onSocket, queued] = await Promise.all([
        call(pool, { method: 'POST', path: '/', headers: {}, body: 'a' }, 900),
        call(pool, { method: 'POST', path: '/', headers: {}, body: 'b' }, 300),
      ]);
      assert.ok(!onSocket.answered && onSocket.uncertain, JSON.stringify(onSocket));
      assert.ok(!queued.answered && !queued.uncertain, JSON.stringify(queued));
    } finally {
      await pool.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('an unknown host: certainly not sent', async () => {
    const pool = createProviderPool({ baseUrl: 'http://sms-provider.invalid', connections: 1, timeoutMs: 2_000 });
    try {
      const out = await call(pool, { method: 'GET', path: '/', headers: {} }, 2_000);
      assert.ok(!out.answered && !out.uncertain, JSON.stringify(out));
    } finally {
      await pool.close();
    }
  });
});

test('xml lookup documents: none, one and several messages read as lists; anything else is not one', () => {
  const one = { messageId: '00123', to: '+14155550123', status: 'sent' };
  assert.deepEqual(parseLookupXml(buildLookupXml([])), []);
  assert.deepEqual(parseLookupXml(buildLookupXml([one])), [one]);
  assert.deepEqual(parseLookupXml(buildLookupXml([one, { messageId: 'B', to: '+1' }])), [one, { messageId: 'B', to: '+1' }]);
  assert.equal(parseLookupXml('<response><status>ERROR</status><code>AUTH</code></response>'), null);
  assert.equal(parseLookupXml(buildLookupXml([one]).slice(0, -20)), null);
});

describe('adapter config', () => {
  test('a bad config fails at build time with every problem listed', () => {
    assert.throws(
      () => createAdapter({ kind: 'json', baseUrl: 'not a url', from: '', apiKey: 'k' } as SmsAdapterConfigInput),
      (err: unknown) => err instanceof SmsAdapterConfigError && err.issues.length >= 2 && err.issues.some((i) => i.startsWith('baseUrl')),
    );
    assert.throws(() => createAdapter({ kind: 'carrier-pigeon' } as unknown as SmsAdapterConfigInput), SmsAdapterConfigError);
    assert.throws(
      () => parseSmsAdapterConfig({ kind: 'xml', baseUrl: 'http://x', from: 'X', apiKey: 'k', apikey: 'typo' }),
      SmsAdapterConfigError,
      'unknown keys are rejected (strict), so a typo does not silently fall back to a default',
    );
  });

  test('defaults are applied', () => {
    const c = parseSmsAdapterConfig({ kind: 'json', baseUrl: 'http://127.0.0.1:1', from: 'Jobs', apiKey: 'k' });
    assert.equal(c.timeoutMs, 5_000);
    assert.equal(c.concurrency, 8);
    assert.equal(c.ratePerSecond, 10);
    assert.equal(c.burst, 1);
  });

  test('every field of every provider schema is described (the spec is the docs); credentials are marked secret', () => {
    for (const option of smsAdapterConfigSchema.options) {
      for (const [name, field] of Object.entries(option.shape)) {
        const meta = z.globalRegistry.get(field as z.ZodType);
        assert.ok(meta?.description, `${option.shape.kind.value}.${name} has a description`);
        if (['authToken', 'apiKey'].includes(name)) assert.equal(meta.secret, true, `${name} is secret`);
      }
    }
  });
});
