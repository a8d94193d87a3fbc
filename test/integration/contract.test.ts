/**
 * The HTTP contract, fuzzed: Schemathesis (scripts/schemathesis.sh) against a real ingest process
 * (real Kafka and registry behind it), with valid credentials, for a bounded number of examples
 * per operation. Any 5xx, undocumented status, content type or header, or a body that breaks
 * its schema, fails the test; so does an operation that answers without its credential.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DEV_OPERATOR_TOKEN, DEV_VENDOR_KEYS } from '../../src/security/dev-credentials.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let ingest: string;

before(async () => {
  h = await startHarness('contract');
  ingest = (await h.spawnRouter(['ingest'])).ingestUrl!;
});
after(async () => {
  await h?.close();
});

test('Schemathesis finds no server error and no schema violation', { timeout: 15 * 60_000 }, async () => {
  const examples = process.env.SCHEMATHESIS_EXAMPLES ?? '25';
  const child = spawn('bash', ['scripts/schemathesis.sh', ingest, DEV_VENDOR_KEYS.dev1, DEV_OPERATOR_TOKEN, examples], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output.slice(-6000));
  assert.match(output, /No issues found/);
  assert.match(output, /(\d+) generated, \1 passed/);
});
