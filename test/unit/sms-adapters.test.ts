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
import { parseMessageXml } from '../../src/sinks/sms/adapters/xml-codec.js';
import { verifyTwilioSignature } from '../../src/sinks/sms/signature.js';
import type { FaultServer } from '../../sandbox/fault-server.js';
import { startJsonSmsSandbox, startTwilioSandbox, startXmlSmsSandbox, type TwilioSandbox } from '../../sandbox/sms-providers.js';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-test-token';
const API_KEY = 'test-api-key';

let counter = 0;
function message(overrides: Partial<SmsMessage> = {}): SmsMessage {
  const leadId = `0190a1b2-0000-7000-8000-${String(++counter).padStart(12, '0')}`;
  return { leadId, to: '+14155550123', body: 'Hi Ana, Cashier jobs near Austin are hiring now. Reply STOP to opt out.', idempotencyKey: `${leadId}:sms:test`, ...overrides };
}

interface Provider {
  kind: 'twilio' | 'json' | 'xml';
  start(): Promise<FaultServer>;
  config(server: FaultServer, overrides?: Record<string, unknown>): SmsAdapterConfigInput;
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

for (const p of providers) {
  describe(`${p.kind} adapter against its sandbox`, () => {
    let server: FaultServer;
    let adapter: SmsAdapter;
    const extra: SmsAdapter[] = [];
    const make = (o?: Record<string, unknown>): SmsAdapter => {
      const a = createAdapter(p.config(server, o));
      extra.push(a);
      return a;
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
      server.setMode('healthy');
      const msg = message({ body: 'Tom & Jerry <jobs> "quoted" café' });
      const res = await adapter.send(msg);
      assert.equal(res.ok, true, JSON.stringify(res));
      assert.ok(res.ok && res.providerMessageId.length > 0);
      assert.equal(adapter.kind, p.kind);
      const rec = server.received.find((r) => r.leadId === msg.leadId);
      assert.ok(rec, 'sandbox recorded the request under the lead id');
      assert.equal(rec.accepted, true);
      assert.equal(rec.duplicate, false);
      assert.deepEqual(p.decode(rec.body), { to: msg.to, from: common.from, text: msg.body });
    });

    test('error500: not ok, retriable', async () => {
      server.setMode('error500');
      const res = await adapter.send(message());
      server.setMode('healthy');
      assert.equal(res.ok, false);
      assert.ok(!res.ok && res.retriable && res.status === 500, JSON.stringify(res));
    });

    test('malformed 200 answer: not ok, retriable', async () => {
      server.setMode('malformed');
      const res = await adapter.send(message());
      server.setMode('healthy');
      assert.ok(!res.ok && res.retriable, JSON.stringify(res));
      assert.match(!res.ok ? res.error : '', /unexpected answer/);
    });

    test('down: not ok, retriable, without waiting for the timeout', async () => {
      server.setMode('down');
      const started = performance.now();
      const res = await make({ timeoutMs: 10_000 }).send(message());
      const elapsed = performance.now() - started;
      server.setMode('healthy');
      assert.ok(!res.ok && res.retriable, JSON.stringify(res));
      assert.ok(elapsed < 5_000, `a dead peer is reported at once, took ${elapsed} ms`);
    });

    test('slow beyond the timeout: not ok, retriable, says timeout', async () => {
      server.setMode('slow', 1_500);
      const res = await make({ timeoutMs: 150 }).send(message());
      server.setMode('healthy');
      assert.ok(!res.ok && res.retriable, JSON.stringify(res));
      assert.match(!res.ok ? res.error : '', /timeout/i);
    });

    test('bad credentials: not ok, not retriable (401)', async () => {
      const res = await make(p.badCredentials).send(message());
      assert.ok(!res.ok && !res.retriable && res.status === 401, JSON.stringify(res));
    });

    test('invalid number: not ok, not retriable (400)', async () => {
      const res = await adapter.send(message({ to: '555-0123' }));
      assert.ok(!res.ok && !res.retriable && res.status === 400, JSON.stringify(res));
    });

    test('repeated idempotency key: same id, marked duplicate by the provider', async () => {
      const msg = message();
      const first = await adapter.send(msg);
      const second = await adapter.send(msg);
      assert.ok(first.ok && second.ok);
      assert.equal(second.providerMessageId, first.providerMessageId);
      const other = await adapter.send(message());
      assert.ok(other.ok && other.providerMessageId !== first.providerMessageId, 'a new key gets a new id');
      const recs = server.received.filter((r) => r.leadId === msg.leadId);
      assert.deepEqual(recs.map((r) => r.duplicate), [false, true]);
    });
  });
}

describe('twilio sandbox delivery receipts', () => {
  let sandbox: TwilioSandbox;
  let adapter: SmsAdapter;
  let hook: http.Server;
  let hookUrl: string;
  const arrived: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  before(async () => {
    sandbox = await startTwilioSandbox({ port: 0, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    adapter = createAdapter(providers[0]!.config(sandbox));
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

  test('when on: a signed "delivered" receipt for the message reaches StatusCallback', async () => {
    sandbox.setDeliveryReceipts(true, 10);
    const res = await adapter.send(message({ statusCallbackUrl: hookUrl }));
    assert.ok(res.ok);
    // Wait for both ends: the hook has the request, and the sandbox has read the hook's answer.
    for (let i = 0; i < 250 && (arrived.length === 0 || sandbox.receipts[0]?.status == null); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(arrived.length, 1);
    const got = arrived[0]!;
    const params = Object.fromEntries(new URLSearchParams(got.body));
    assert.equal(params.MessageSid, res.providerMessageId);
    assert.equal(params.MessageStatus, 'delivered');
    const signature = got.headers['x-twilio-signature'] as string;
    assert.equal(verifyTwilioSignature({ authToken: AUTH_TOKEN, url: hookUrl, params, signature }), true);
    assert.equal(verifyTwilioSignature({ authToken: 'other', url: hookUrl, params, signature }), false);
    assert.equal(sandbox.receipts[0]?.status, 204);
  });
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
