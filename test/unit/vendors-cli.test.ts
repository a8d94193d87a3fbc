/**
 * `lead-router vendors`: add, rotate, revoke and list against an in-memory stand-in for the
 * MongoDB collection, then the keyring reading the same documents: a minted key works, a revoked
 * one stops working, and only hashes are ever stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { DEV_PEPPER } from '../../src/security/credentials.js';
import { openKeyring, type VendorDoc } from '../../src/security/keyring.js';
import { MAX_ACTIVE_KEYS, runCommand } from '../../src/security/vendors-cli.js';

function fakeCollection() {
  const docs = new Map<string, VendorDoc>();
  return {
    docs,
    async insertOne(d: VendorDoc) {
      if (docs.has(d._id)) throw Object.assign(new Error('dup'), { code: 11000 });
      docs.set(d._id, structuredClone(d));
    },
    async findOne(q: { _id: string }) {
      return structuredClone(docs.get(q._id) ?? null);
    },
    async replaceOne(q: { _id: string; version: number }, d: VendorDoc) {
      if (docs.get(q._id)?.version !== q.version) return { modifiedCount: 0 };
      docs.set(q._id, structuredClone(d));
      return { modifiedCount: 1 };
    },
    find: () => ({ sort: () => ({ toArray: async () => [...docs.values()] }), toArray: async () => [...docs.values()] }),
  };
}

test('add, rotate, revoke, list: keys shown once, stored hashed, revocation takes effect', async () => {
  const config = loadConfig({ ...process.env, CREDENTIAL_PEPPER: undefined });
  const vendors = fakeCollection();
  const lines: string[] = [];
  const run = (cmd: string, ...args: string[]) => runCommand(cmd, args, vendors as never, config, DEV_PEPPER, (l) => lines.push(l));
  const keyOf = () => /key (\S+): (lr_\S+)$/.exec(lines.find((l) => / key \S+: lr_/.test(l)) ?? '')!;

  assert.equal(await run('add', 'new-vendor', '--rate', '50/1000'), 0);
  const [, firstId, firstKey] = keyOf();
  assert.ok(firstKey && !JSON.stringify([...vendors.docs.values()]).includes(firstKey.slice(-43)), 'only the hash is stored');
  assert.equal(await run('add', 'new-vendor'), 1, 'a vendor is added once');
  lines.length = 0;
  assert.equal(await run('rotate', 'new-vendor'), 0);
  const [, secondId, secondKey] = keyOf();

  const ring = await openKeyring({ security: config.router.security, pepper: DEV_PEPPER, collection: () => vendors as never, log: { warn() {}, info() {} }, refreshMs: 60_000 });
  try {
    const first = ring.vendor(firstKey!);
    assert.ok(first.ok && first.principal.kind === 'vendor' && first.principal.vendor === 'new-vendor' && first.principal.rateLimit?.max === 50);
    assert.ok(ring.vendor(secondKey!).ok, 'two keys active during the rotation');
  } finally {
    ring.close();
  }
  assert.equal(await run('revoke', 'new-vendor', firstId!), 0);
  const after = await openKeyring({ security: config.router.security, pepper: DEV_PEPPER, collection: () => vendors as never, log: { warn() {}, info() {} }, refreshMs: 60_000 });
  try {
    assert.deepEqual(after.vendor(firstKey!), { ok: false, why: 'invalid' });
    assert.ok(after.vendor(secondKey!).ok);
  } finally {
    after.close();
  }
  for (let i = 1; i < MAX_ACTIVE_KEYS; i++) assert.equal(await run('rotate', 'new-vendor'), 0);
  assert.equal(await run('rotate', 'new-vendor'), 1, `at most ${MAX_ACTIVE_KEYS} active keys`);
  lines.length = 0;
  assert.equal(await run('list'), 0);
  const listed = lines.join('\n');
  assert.match(listed, /acme-leads\t\(config\)\tdev1 active, dev2 active/);
  assert.match(listed, new RegExp(`new-vendor\\t\\(mongodb\\)\\t${firstId} revoked .*${secondId} active since`));
  assert.doesNotMatch(listed, /lr_|hmac-sha256/, 'list shows ids, never keys or hashes');
});
