/**
 * Credentials (shape, hashing, keyring with the MongoDB collection failing), reason scrubbing,
 * log redaction at any depth, and what Sentry is allowed to send.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { scrubSentryEvent } from '../../src/error-tracking.js';
import { createLogger } from '../../src/log.js';
import { credentialId, DEV_PEPPER, hashCredential, mintCredential, VENDOR_KEY_PREFIX } from '../../src/security/credentials.js';
import { DEV_HASHES, DEV_OPERATOR_TOKEN, DEV_VENDOR_KEYS } from '../../src/security/dev-credentials.js';
import { openKeyring, type VendorDoc } from '../../src/security/keyring.js';
import { redactDeep } from '../../src/security/redact.js';
import { scrubReason } from '../../src/security/scrub.js';
import { devCredentialsInUse, securitySchema } from '../../src/security/security-config.js';
import { testSecurity } from '../support/auth.js';
import { leadEvent } from '../support/fixtures.js';

describe('credentials', () => {
  test('minted keys have the documented shape and a public id; the stored form reveals neither', () => {
    const k = mintCredential(VENDOR_KEY_PREFIX);
    assert.match(k.value, /^lr_[0-9a-f]{10}_[A-Za-z0-9_-]{43}$/);
    assert.equal(credentialId(VENDOR_KEY_PREFIX, k.value), k.id);
    const hash = hashCredential('pepper-one-1234567', k.value);
    assert.match(hash, /^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    assert.ok(!hash.includes(k.value.slice(-43)));
    assert.notEqual(hashCredential('pepper-two-1234567', k.value), hash, 'the pepper is part of the hash');
  });

  test('the development credentials hash to what config holds', () => {
    assert.equal(hashCredential(DEV_PEPPER, DEV_VENDOR_KEYS.dev1), DEV_HASHES.dev1);
    assert.equal(hashCredential(DEV_PEPPER, DEV_VENDOR_KEYS.dev2), DEV_HASHES.dev2);
    assert.equal(hashCredential(DEV_PEPPER, DEV_OPERATOR_TOKEN), DEV_HASHES.operator);
    assert.deepEqual(devCredentialsInUse(securitySchema.parse({})), ['operator dev-operator', 'acme-leads key dev1', 'acme-leads key dev2']);
  });

  test('config refuses a plain-text key, a key listed twice, and a duplicate key id', () => {
    const bad = securitySchema.safeParse({
      vendors: {
        a: { keys: [{ id: 'k1', hash: DEV_VENDOR_KEYS.dev1 }] },
        b: { keys: [{ id: 'k1', hash: DEV_HASHES.dev1 }, { id: 'k1', hash: DEV_HASHES.dev2 }] },
        c: { keys: [{ id: 'k2', hash: DEV_HASHES.dev1 }] },
      },
    });
    assert.equal(bad.success, false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    assert.match(messages, /vendors\.a\.keys\.0\.hash: must be "hmac-sha256/);
    assert.match(messages, /key id k1 appears twice/);
    assert.match(messages, /vendors\.c\.keys\.0\.hash: the same key is already listed for vendor b/);
  });
});

describe('keyring with the vendors collection', () => {
  const rotated = mintCredential(VENDOR_KEY_PREFIX, 'db1').value;
  const revoked = mintCredential(VENDOR_KEY_PREFIX, 'db0').value;
  const docs: VendorDoc[] = [
    {
      _id: 'db-vendor',
      version: 2,
      createdAt: new Date(),
      rateLimit: { max: 5, windowMs: 1000 },
      keys: [
        { id: 'db0', hash: hashCredential(DEV_PEPPER, revoked), createdAt: new Date(), revokedAt: new Date() },
        { id: 'db1', hash: hashCredential(DEV_PEPPER, rotated), createdAt: new Date(), revokedAt: null },
      ],
    },
  ];
  const quiet = { warn() {}, info() {} };

  test('collection keys work, revoked ones do not, and the last good set stays while MongoDB is away', async () => {
    let down = false;
    const collection = () => ({ find: () => ({ toArray: async () => (down ? Promise.reject(new Error('connection refused')) : docs) }) }) as never;
    const ring = await openKeyring({ security: testSecurity(), pepper: DEV_PEPPER, collection, log: quiet, refreshMs: 20 });
    try {
      const ok = ring.vendor(rotated);
      assert.ok(ok.ok && ok.principal.kind === 'vendor' && ok.principal.vendor === 'db-vendor' && ok.principal.rateLimit?.max === 5);
      assert.deepEqual(ring.vendor(revoked), { ok: false, why: 'invalid' });
      down = true;
      await new Promise((r) => setTimeout(r, 80));
      assert.ok(ring.vendor(rotated).ok, 'still accepted with MongoDB down');
      assert.ok(ring.vendor(DEV_VENDOR_KEYS.dev1).ok, 'config keys need no database');
    } finally {
      ring.close();
    }
  });

  test('before the collection was ever read, an unknown key is "not yet" (503), not "forbidden"', async () => {
    const collection = () => ({ find: () => ({ toArray: () => Promise.reject(new Error('down')) }) }) as never;
    const ring = await openKeyring({ security: testSecurity(), pepper: DEV_PEPPER, collection, log: quiet, refreshMs: 60_000 });
    try {
      assert.deepEqual(ring.vendor(rotated), { ok: false, why: 'not_loaded' });
      assert.deepEqual(ring.vendor('junk'), { ok: false, why: 'invalid' }, 'junk is refused by its shape');
      assert.ok(ring.vendor(DEV_VENDOR_KEYS.dev2).ok);
    } finally {
      ring.close();
    }
  });
});

describe('scrubReason', () => {
  test('removes e-mails, phone numbers and the lead\'s own values; keeps codes, lead ids and times', () => {
    const known = ['Jane', 'Doe', 'jane.doe@example.com', '(415) 555-0132'];
    const text = 'HTTP 422: {"error":"Jane Doe <jane.doe@example.com> exists","to":"+1 415 555 0132","code":30003} lead 0190c0de-0000-7000-8000-000000000001 at 2026-07-15T19:00:00.000Z';
    const out = scrubReason(text, { known, max: 500 });
    assert.doesNotMatch(out, /Jane|Doe|jane\.doe|415|555|0132/);
    assert.match(out, /HTTP 422/);
    assert.match(out, /30003/);
    assert.match(out, /0190c0de-0000-7000-8000-000000000001/);
    assert.match(out, /2026-07-15T19:00:00\.000Z/);
    assert.equal(scrubReason('Dear Janet', { known: ['Jane'] }), 'Dear Janet', 'whole words only');
    // A provider's message id is how its receipts find the text: kept whole, whatever digits it holds.
    assert.equal(scrubReason('twilio message SMe61ab236610228b26545edff3130ac9e'), 'twilio message SMe61ab236610228b26545edff3130ac9e');
    assert.equal(scrubReason('id msg_4155550132'), 'id msg_4155550132');
    assert.equal(scrubReason('invalid To: 4155550132, +1 415-555-0132x'), 'invalid To: [number], [number]x');
  });

  test('one line, capped, linear on adversarial input', () => {
    assert.equal(scrubReason('a\nb\r\n{"level":60}'), 'a b {"level":60}');
    assert.ok(scrubReason('x'.repeat(10_000), { max: 50 }).length <= 50);
    const t0 = performance.now();
    scrubReason(`${'1 '.repeat(50_000)}@`, { known: ['Jane'], max: 200 });
    scrubReason('a@'.repeat(50_000), { max: 200 });
    assert.ok(performance.now() - t0 < 100);
  });
});

describe('log redaction', () => {
  test('personal values and credentials at any depth, in arrays, in error messages and stacks', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ formatters: { log: (o) => redactDeep(o) as Record<string, unknown> } }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const lead = leadEvent();
    const err = new Error('buyer said: jane.doe@example.com / +14155550132 is a duplicate');
    log.warn({ batch: [{ lead }], deep: { a: { b: { c: { d: { phone: '+14155550132' } } } } }, headers: { 'x-api-key': 'lr_x_y', authorization: 'Bearer t' }, err }, 'delivery failed');
    const text = JSON.stringify(lines);
    for (const pii of ['Jane', 'Doe', 'jane.doe@example.com', '4155550132', '555-0132', 'lr_x_y', 'Bearer t']) assert.ok(!text.includes(pii), `${pii} leaked: ${text.slice(0, 300)}`);
    assert.match(text, /a duplicate/, 'the rest of the message stays');
    assert.equal(typeof createLogger('info', 'x').info, 'function');
  });

  test('Sentry events keep no request data, user, breadcrumbs or personal text', () => {
    const event = scrubSentryEvent({
      type: undefined,
      request: { method: 'POST', url: '/v1/leads?email=jane.doe@example.com', headers: { 'x-api-key': 'lr_secret' }, data: '{"firstName":"Jane"}' },
      user: { ip_address: '10.0.0.1' },
      breadcrumbs: [{ message: 'jane.doe@example.com' }],
      exception: { values: [{ type: 'Error', value: 'rejected +14155550132', stacktrace: { frames: [{ function: 'f', vars: { lead: { firstName: 'Jane' } } }] } }] },
      extra: { lead: { email: 'jane.doe@example.com' } },
    });
    const text = JSON.stringify(event);
    for (const pii of ['jane', 'Jane', '4155550132', 'lr_secret', '10.0.0.1']) assert.ok(!text.includes(pii), `${pii} in ${text}`);
    assert.deepEqual(event.request, { method: 'POST', url: '/v1/leads' });
  });
});

describe('outcomes are scrubbed centrally', () => {
  test('a destination that echoes the lead: nothing of it in history, backup lastError or DLQ headers', async () => {
    const { settle } = await import('../../src/stages/outcomes.js');
    const lead = leadEvent({ delivery: { destination: 'primary:buyer-us', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] } });
    const consumed = { topic: 'leads.primary', partition: 0, offset: '7', key: lead.leadId, value: lead, headers: {} } as never;
    const ctx = { stage: 'sink-primary', policy: { baseDelayMs: 1000, maxDelayMs: 10_000, maxAttempts: 3, maxAgeMs: 86_400_000 }, topology: { topics: { backup: 'leads.backup', dlq: 'leads.dlq', events: 'leads.events' } } as never, now: 1_000 };
    const echo = 'HTTP 500: {"error":"Jane Doe jane.doe@example.com (415) 555-0132 exists"}';
    const retried = settle(consumed, { status: 'retry', error: echo }, ctx);
    const dead = settle(consumed, { status: 'dead', reason: `buyer rejected the lead: ${echo}` }, ctx);
    const text = JSON.stringify([retried, dead].map((s) => ({ history: s.history, outputs: s.outputs.map((o) => ({ headers: o.headers, lastError: (o.value as { delivery?: { lastError?: string } }).delivery?.lastError, dead: (o.value as { deadLetter?: unknown }).deadLetter })) })));
    for (const pii of ['Jane', 'Doe', 'jane.doe', '555-0132', '(415)']) assert.ok(!text.includes(pii), `${pii} in ${text.slice(0, 400)}`);
    assert.match(text, /HTTP 500/);
  });
});
