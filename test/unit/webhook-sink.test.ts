import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWebhookSink, validateBuyerAnswer } from '../../src/sinks/primary/webhook-sink.js';
import { startBuyer } from '../../sandbox/buyer.js';
import { leadEvent } from '../support/fixtures.js';

test('a buyer answer counts only with a 2xx AND a body saying accepted', () => {
  assert.equal(validateBuyerAnswer(200, '{"accepted":true,"id":"b-1"}').status, 'delivered');
  assert.equal(validateBuyerAnswer(200, '{"accepted": tru').status, 'retry');
  assert.equal(validateBuyerAnswer(200, '<html>ok</html>').status, 'retry');
  assert.equal(validateBuyerAnswer(200, '{"status":"ok"}').status, 'retry');
  assert.equal(validateBuyerAnswer(200, '{"accepted":false,"reason":"dup"}').status, 'dead');
  assert.equal(validateBuyerAnswer(503, '{"accepted":true}').status, 'retry');
  assert.equal(validateBuyerAnswer(429, '').status, 'retry');
  assert.equal(validateBuyerAnswer(422, 'bad').status, 'dead');
});

const buyer = await startBuyer({ name: 'buyer-us', port: 0 });
after(() => buyer.close());
const sink = createWebhookSink({ 'buyer-us': { url: `${buyer.url}/leads`, timeoutMs: 2000, concurrency: 4, headers: { 'x-api-key': 'k' } } });
after(() => sink.close());
const lead = (n: number) =>
  leadEvent({ leadId: `lead-${n}`, delivery: { destination: 'primary:buyer-us', rule: 'us', attempt: 0, firstAttemptAt: 0, nextAttemptAt: null, lastError: null, fallbacks: [] } });

test('against the sandbox buyer: each fault mode gives the right outcome', async () => {
  buyer.setMode('healthy');
  assert.deepEqual((await sink.deliver([lead(1), lead(2)])).map((o) => o.status), ['delivered', 'delivered']);
  const got = buyer.received.at(-1)!;
  assert.equal(got.headers['idempotency-key'], 'lead-2:primary:buyer-us');
  assert.equal(got.headers['x-api-key'], 'k');
  assert.equal(JSON.parse(got.body).delivery, undefined, 'routing internals are not sent to the buyer');
  for (const [mode, expected] of [['error500', 'retry'], ['malformed', 'retry'], ['down', 'retry']] as const) {
    buyer.setMode(mode);
    assert.equal((await sink.deliver([lead(3)]))[0]?.status, expected, mode);
  }
  buyer.setMode('slow', 6000); // far past the 2 s timeout: a loaded machine cannot blur the two
  const slow = (await sink.deliver([lead(4)]))[0]!;
  assert.equal(slow.status, 'retry');
  buyer.setMode('healthy');
});

test('an unknown buyer is dead, not retried forever', async () => {
  const l = lead(5);
  l.delivery!.destination = 'primary:nobody';
  assert.equal((await sink.deliver([l]))[0]?.status, 'dead');
});
