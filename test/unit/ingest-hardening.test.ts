/**
 * Input hardening at the front door, through `app.inject()`: phones must hold digits, names and
 * labels refuse invisible and direction-changing characters, and an over-long value is refused
 * by its length without its pattern ever running. Every refusal is a 400 naming the field.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildIngestApp } from '../../src/ingest/app.js';
import { VendorLeadDedup } from '../../src/ingest/dedup.js';
import type { IngestDeps } from '../../src/ingest/ingest-plugin.js';
import { usLeadBody } from '../support/fixtures.js';
import { testKeyring, vendorHeaders } from '../support/auth.js';

interface Refusal {
  error: string;
  fields: { field: string; message: string }[];
}

async function app(): Promise<FastifyInstance> {
  const deps = {
    publisher: { async publish() {}, async close() {} },
    history: null,
    dedup: new VendorLeadDedup(60_000, 100),
    readiness: async () => [],
    keyring: await testKeyring(),
  } as unknown as IngestDeps;
  // The production body limit, so a 16 KiB adversarial value reaches validation.
  return buildIngestApp(deps, { maxBodyBytes: 16_384, logger: false });
}

async function post(instance: FastifyInstance, overrides: Record<string, unknown>): Promise<{ status: number; body: Refusal }> {
  const res = await instance.inject({ method: 'POST', url: '/v1/leads', headers: vendorHeaders(), payload: usLeadBody(overrides) });
  return { status: res.statusCode, body: res.json() as Refusal };
}

function fieldsOf(body: Refusal): string[] {
  return [...new Set(body.fields.map((f) => f.field))];
}

describe('phones must hold digits', () => {
  test('punctuation-only or too few digits is a 400 naming phone', async () => {
    const instance = await app();
    for (const phone of ['+++++++', '(((   )))', '-------', '()()()()', '+1 (415) 55', '.........']) {
      const { status, body } = await post(instance, { phone });
      assert.equal(status, 400, phone);
      assert.equal(body.error, 'invalid_lead');
      assert.deepEqual(fieldsOf(body), ['phone'], phone);
      assert.match(body.fields[0]!.message, /at least 7 digits/, 'explained in words, not as a regex');
    }
  });

  test('the usual ways of writing a number are accepted', async () => {
    const instance = await app();
    for (const phone of ['(415) 555-0132', '+44 20 7946 0958', '415.555.0132', '4155550132', '+1 415 555 0132', '07911 123456']) {
      assert.equal((await post(instance, { phone })).status, 202, phone);
    }
  });
});

describe('names and labels refuse invisible and direction-changing characters', () => {
  const FIELDS = ['firstName', 'lastName', 'jobTitle', 'source', 'vendor', 'vendorLeadId'] as const;
  const BAD: Array<[string, string]> = [
    ['NUL', '\u0000'],
    ['tab', '\t'],
    ['newline', '\n'],
    ['DEL', '\u007f'],
    ['C1 NEL', '\u0085'],
    ['C1 CSI', '\u009b'],
    ['zero-width space', '\u200b'],
    ['zero-width joiner', '\u200d'],
    ['word joiner', '\u2060'],
    ['BOM', '\ufeff'],
    ['right-to-left override', '\u202e'],
    ['left-to-right embedding', '\u202a'],
    ['first-strong isolate', '\u2068'],
    ['pop directional isolate', '\u2069'],
    ['line separator', '\u2028'],
  ];

  test('each character in each field is a 400 naming exactly that field', async () => {
    const instance = await app();
    for (const field of FIELDS) {
      for (const [name, ch] of BAD) {
        const { status, body } = await post(instance, { [field]: `Ja${ch}ne` });
        assert.equal(status, 400, `${name} in ${field}`);
        assert.deepEqual(fieldsOf(body), [field], `${name} in ${field}`);
        assert.match(body.fields[0]!.message, /control, zero-width or bidi/);
      }
    }
  });

  test('real names in any script, with accents, apostrophes, hyphens and spaces, are accepted', async () => {
    const instance = await app();
    const names = ['José', "O'Brien", 'Anne-Marie', 'Zoë van der Berg', '李伟', 'محمد', 'Ñandú', 'Jean\u00a0Luc', ' Mary '];
    for (const firstName of names) assert.equal((await post(instance, { firstName })).status, 202, firstName);
    const labels = { jobTitle: 'CNA - Nights (Req #4411) 🚀', source: 'jobs-board', vendor: 'acme-leads', vendorLeadId: 'V-77/2026' };
    assert.equal((await post(instance, labels)).status, 202);
  });

  test('blank text is still refused', async () => {
    const instance = await app();
    for (const lastName of ['', '   ', '\u3000']) {
      const { status, body } = await post(instance, { lastName });
      assert.equal(status, 400, JSON.stringify(lastName));
      assert.deepEqual(fieldsOf(body), ['lastName']);
    }
  });
});

describe('length is checked before any pattern', () => {
  test('a 16 KB adversarial email is refused by its length alone', async () => {
    const instance = await app();
    // The input that made the old email pattern quadratic (~0.5 s of CPU per request).
    const email = 'a@' + '.'.repeat(16_000) + '@';
    const { status, body } = await post(instance, { email });
    assert.equal(status, 400);
    // Only the length error: the pattern sits behind `if: {maxLength}` and never ran.
    assert.deepEqual(body.fields, [{ field: 'email', message: 'must NOT have more than 254 characters' }]);
  });

  test('every guarded field gets one error when too long, however its content looks', async () => {
    const instance = await app();
    const cases: Array<[string, string]> = [
      ['firstName', '\u202e'.repeat(5000)],
      ['phone', '+'.repeat(5000)],
      ['zip', '1'.repeat(5000)],
      ['jobTitle', ' '.repeat(5000) + '\u0000'],
    ];
    for (const [field, value] of cases) {
      const { status, body } = await post(instance, { [field]: value });
      assert.equal(status, 400, field);
      assert.equal(body.fields.length, 1, `${field}: ${JSON.stringify(body.fields)}`);
      assert.equal(body.fields[0]!.field, field);
      assert.match(body.fields[0]!.message, /must NOT have more than \d+ characters/);
    }
  });

  test('within the length limit a bad value gets the pattern message', async () => {
    const instance = await app();
    const { body } = await post(instance, { email: 'not-an-email', zip: '123' });
    assert.deepEqual(body.fields.map((f) => f.field).sort(), ['email', 'zip']);
    assert.ok(body.fields.every((f) => !/must match pattern/.test(f.message)), JSON.stringify(body.fields));
  });
});
