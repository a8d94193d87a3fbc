/**
 * The verifier client against the sandbox verifier (sandbox/verifier.ts) on a random port, in each
 * of its fault modes: answers must stay within budget whatever the verifier does.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startVerifier } from '../../sandbox/verifier.js';
import type { FaultServer } from '../../sandbox/fault-server.js';
import { verifierConfigSchema, type VerifierConfigInput } from '../../src/processors/enrich/config.js';
import { createEmailVerifier, type EmailVerifier } from '../../src/processors/enrich/email-verifier.js';

let server: FaultServer;
const open: EmailVerifier[] = [];

function verifier(overrides: Partial<VerifierConfigInput> = {}): EmailVerifier {
  const v = createEmailVerifier(verifierConfigSchema.parse({ url: `${server.url}/v1/verify`, budgetMs: 300, ...overrides }));
  open.push(v);
  return v;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

before(async () => {
  server = await startVerifier({ port: 0 });
});
after(async () => {
  await Promise.all(open.map((v) => v.close()));
  await server.close();
});
beforeEach(() => {
  server.setMode('healthy');
  server.received.length = 0;
});

describe('email verifier client', () => {
  it('maps healthy verdicts and reasons through the default mapping', async () => {
    const v = verifier();
    assert.deepEqual(await v.verify('jane@example.org'), { address: 'jane@example.org', status: 'valid', reason: 'verifier:mailbox_exists', source: 'verifier', suggestion: null });
    const bounce = await v.verify('bounce.me@example.org');
    assert.equal(bounce.status, 'invalid');
    assert.equal(bounce.reason, 'verifier:mailbox_not_found');
    assert.equal((await v.verify('risky.one@example.org')).status, 'risky');
    assert.equal(server.received.length, 3);
    assert.equal(server.received[0]?.headers['x-api-key'], 'sandbox-key');
  });

  it('answers a repeated address from the cache without a second call', async () => {
    const v = verifier();
    await v.verify('cached@example.org');
    const again = await v.verify('cached@example.org');
    assert.equal(again.source, 'cache');
    assert.equal(again.status, 'valid');
    assert.equal(server.received.length, 1);
    assert.equal(v.stats().cacheHits, 1);
  });

  it('shares one call between concurrent asks for the same address', async () => {
    const v = verifier();
    const answers = await Promise.all([v.verify('same@example.org'), v.verify('same@example.org'), v.verify('same@example.org')]);
    assert.deepEqual(answers.map((a) => a.status), ['valid', 'valid', 'valid']);
    assert.equal(server.received.length, 1);
  });

  it('does not cache a verdict the verifier itself called unknown', async () => {
    const v = verifier();
    assert.equal((await v.verify('unknown.box@example.org')).status, 'unknown');
    assert.equal((await v.verify('unknown.box@example.org')).source, 'verifier');
    assert.equal(server.received.length, 2);
  });

  it('reads a custom mapping (another vendor is a config change)', async () => {
    const v = verifier({ mapping: { verdictField: 'result', reasonField: null, verdicts: { deliverable: 'valid' } } });
    assert.deepEqual(await v.verify('a@example.org').then((r) => [r.status, r.reason]), ['valid', 'verifier:deliverable']);
    assert.deepEqual(await v.verify('bounce@example.org').then((r) => [r.status, r.reason]), ['unknown', 'verifier_unmapped:undeliverable']);
  });

  it('reports a wrong API key as verifier_auth_failed, not as a verdict', async () => {
    const v = verifier({ apiKey: 'wrong' });
    const r = await v.verify('jane@example.org');
    assert.equal(r.status, 'unknown');
    assert.equal(r.reason, 'verifier_auth_failed');
  });

  it('answers unknown quickly when the verifier is down', async () => {
    server.setMode('down');
    const v = verifier();
    const { value, ms } = await timed(() => v.verify('down@example.org'));
    assert.equal(value.status, 'unknown');
    assert.equal(value.reason, 'verifier_unavailable');
    assert.ok(ms < 300, `took ${ms} ms`);
  });

  it('gives up at the budget when the verifier is slower: unknown / verifier_timeout', async () => {
    server.setMode('slow', 1_000);
    const v = verifier({ budgetMs: 150 });
    const { value, ms } = await timed(() => v.verify('slow@example.org'));
    assert.equal(value.status, 'unknown');
    assert.equal(value.reason, 'verifier_timeout');
    assert.ok(ms >= 140 && ms < 400, `took ${ms} ms`);
  });

  it('treats a malformed answer as unknown / verifier_bad_response', async () => {
    server.setMode('malformed');
    const v = verifier();
    const r = await v.verify('garbled@example.org');
    assert.equal(r.status, 'unknown');
    assert.equal(r.reason, 'verifier_bad_response');
  });

  it('opens the circuit after repeated 500s; later calls return at once without reaching the verifier', async () => {
    server.setMode('error500');
    const v = verifier({ breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 } });
    for (let i = 0; i < 5; i++) assert.equal((await v.verify(`fail${i}@example.org`)).reason, 'verifier_http_500');
    assert.equal(v.stats().circuit, 'open');
    const calls = server.received.length;

    server.setMode('slow', 2_000); // would blow the budget if it were still called
    const { value, ms } = await timed(() => Promise.all(Array.from({ length: 200 }, (_, i) => v.verify(`later${i}@example.org`))));
    assert.ok(value.every((r) => r.status === 'unknown' && r.reason === 'verifier_circuit_open'));
    assert.ok(ms < 100, `200 answers took ${ms} ms`);
    assert.equal(server.received.length, calls);
  });

  it('closes the circuit again when the trial call after the reset timeout succeeds', async () => {
    server.setMode('error500');
    const v = verifier({ breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 100 } });
    await v.verify('x1@example.org');
    await v.verify('x2@example.org');
    assert.equal(v.stats().circuit, 'open');
    server.setMode('healthy');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await v.verify('back@example.org')).status, 'valid');
    assert.equal(v.stats().circuit, 'closed');
  });

  it('keeps throughput when calls queue behind the concurrency cap: over-budget leads are not called', async () => {
    server.setMode('slow', 100);
    const v = verifier({ concurrency: 2, budgetMs: 250 });
    const { value, ms } = await timed(() => Promise.all(Array.from({ length: 20 }, (_, i) => v.verify(`q${i}@example.org`))));
    assert.ok(ms < 500, `took ${ms} ms`);
    const verified = value.filter((r) => r.status === 'valid').length;
    assert.ok(verified >= 2 && verified <= 6, `verified ${verified}`);
    assert.ok(value.filter((r) => r.reason === 'verifier_timeout').length >= 14);
  });
});

describe('verdicts that name a built-in', () => {
  it('"constructor", "toString" and "__proto__" are unmapped verdicts, never cached functions', async () => {
    const http = await import('node:http');
    for (const verdict of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const srv = http.createServer((_req, res) => res.end(JSON.stringify({ result: verdict, reason: verdict })));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
      const port = (srv.address() as { port: number }).port;
      const v = createEmailVerifier(verifierConfigSchema.parse({ url: `http://127.0.0.1:${port}/v1/verify`, budgetMs: 500 }));
      const first = await v.verify('jane@example.com');
      const second = await v.verify('jane@example.com');
      await v.close();
      await new Promise<void>((r) => srv.close(() => r()));
      for (const r of [first, second]) {
        assert.equal(r.status, 'unknown', `${verdict}: ${JSON.stringify(r)}`);
        assert.equal(typeof r.status, 'string');
        assert.equal(r.reason, `verifier_unmapped:${verdict}`);
      }
      assert.notEqual(second.source, 'cache', 'an unmapped verdict is not cached');
    }
  });
});
