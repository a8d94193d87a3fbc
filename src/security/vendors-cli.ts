/**
 * `lead-router vendors …`: vendor API keys in the MongoDB `vendors` collection, which every
 * ingest process re-reads every few seconds (src/security/keyring.ts).
 *
 *   vendors add <vendor> [--rate <max>/<windowMs>]   a new vendor with one key (printed once)
 *   vendors rotate <vendor>                          one more key; the old ones stay active until revoked
 *   vendors revoke <vendor> <keyId>                  that key stops working within one refresh
 *   vendors list                                     vendors, key ids and states (never keys or hashes)
 *   vendors hash <key>                               the stored form of a key or token, for config
 *
 * A key is shown once, when minted; only its HMAC is stored. Updates are read-modify-write with
 * a version check (FerretDB 1.x lacks arrayFilters), so two operators cannot lose each other's change.
 */
import type { Collection } from 'mongodb';
import type { Config } from '../config.js';
import { connectMongo } from '../history/store.js';
import { DEV_PEPPER, hashCredential, mintCredential, VENDOR_KEY_PREFIX } from './credentials.js';
import type { VendorDoc } from './keyring.js';
import { VENDOR_NAME } from './security-config.js';

/** Enough for a rotation with a spare; more active keys only widen what can leak. */
export const MAX_ACTIVE_KEYS = 3;

type Out = (line: string) => void;

export async function runVendorsCli(args: string[], config: Config, out: Out): Promise<number> {
  const [command, ...rest] = args;
  const pepper = config.env.CREDENTIAL_PEPPER ?? DEV_PEPPER;
  if (command === 'hash') {
    if (!rest[0]) return usage(out);
    out(hashCredential(pepper, rest[0]));
    return 0;
  }
  if (!['add', 'rotate', 'revoke', 'list'].includes(command ?? '')) return usage(out);
  const client = await connectMongo(config.env.MONGO_URL);
  try {
    const vendors = client.db().collection<VendorDoc>(config.router.security.vendorStore.collection);
    return await runCommand(command!, rest, vendors, config, pepper, out);
  } finally {
    await client.close();
  }
}

export async function runCommand(command: string, rest: string[], vendors: Collection<VendorDoc>, config: Config, pepper: string, out: Out): Promise<number> {
  const fromConfig = config.router.security.vendors;
  if (command === 'list') {
    for (const [name, v] of Object.entries(fromConfig)) out(`${name}\t(config)\t${v.keys.map((k) => `${k.id} active`).join(', ')}`);
    for (const doc of await vendors.find({}).sort({ _id: 1 }).toArray()) {
      const keys = doc.keys.map((k) => `${k.id} ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : `active since ${k.createdAt.toISOString()}`}`);
      out(`${doc._id}\t(mongodb)\t${keys.join(', ')}${doc.rateLimit ? `\trate ${doc.rateLimit.max}/${doc.rateLimit.windowMs}ms` : ''}`);
    }
    return 0;
  }
  const vendor = rest[0];
  if (!vendor || !VENDOR_NAME.test(vendor)) {
    out(`vendors ${command}: name a vendor (lower-case a-z, 0-9, ".", "_", "-")`);
    return 2;
  }
  const now = new Date();
  if (command === 'add') {
    const rate = parseRate(rest);
    if (rate === 'bad') return usage(out);
    if (fromConfig[vendor]) out(`note: ${vendor} also has keys in config; both sets are accepted`);
    const key = mintCredential(VENDOR_KEY_PREFIX);
    const doc: VendorDoc = { _id: vendor, keys: [{ id: key.id, hash: hashCredential(pepper, key.value), createdAt: now, revokedAt: null }], createdAt: now, version: 1, ...(rate ? { rateLimit: rate } : {}) };
    try {
      await vendors.insertOne(doc);
    } catch (err) {
      if ((err as { code?: number }).code === 11000) {
        out(`vendors add: ${vendor} exists; use rotate for another key`);
        return 1;
      }
      throw err;
    }
    return printKey(out, vendor, key);
  }
  const doc = await vendors.findOne({ _id: vendor });
  if (!doc) {
    out(`vendors ${command}: no vendor ${vendor} in MongoDB${fromConfig[vendor] ? ' (its keys are in config: edit the config file)' : ''}`);
    return 1;
  }
  if (command === 'rotate') {
    const active = doc.keys.filter((k) => !k.revokedAt).length;
    if (active >= MAX_ACTIVE_KEYS) {
      out(`vendors rotate: ${vendor} already has ${active} active keys; revoke one first`);
      return 1;
    }
    const key = mintCredential(VENDOR_KEY_PREFIX);
    await save(vendors, doc, [...doc.keys, { id: key.id, hash: hashCredential(pepper, key.value), createdAt: now, revokedAt: null }]);
    return printKey(out, vendor, key);
  }
  const keyId = rest[1];
  const target = doc.keys.find((k) => k.id === keyId);
  if (!target) {
    out(`vendors revoke: ${vendor} has no key ${keyId ?? '(none named)'}; see vendors list`);
    return 1;
  }
  if (target.revokedAt) {
    out(`${vendor} key ${target.id} was already revoked at ${target.revokedAt.toISOString()}`);
    return 0;
  }
  await save(vendors, doc, doc.keys.map((k) => (k.id === keyId ? { ...k, revokedAt: now } : k)));
  out(`${vendor} key ${keyId} revoked; every ingest refuses it within ${config.router.security.vendorStore.refreshMs / 1000} s`);
  return 0;
}

async function save(vendors: Collection<VendorDoc>, doc: VendorDoc, keys: VendorDoc['keys']): Promise<void> {
  const res = await vendors.replaceOne({ _id: doc._id, version: doc.version }, { ...doc, keys, version: doc.version + 1 });
  if (res.modifiedCount !== 1) throw new Error(`${doc._id} was changed by someone else meanwhile; run the command again`);
}

function printKey(out: Out, vendor: string, key: { id: string; value: string }): number {
  out(`${vendor} key ${key.id}: ${key.value}`);
  out('shown once: give it to the vendor now (header x-api-key); only its hash is stored');
  return 0;
}

function parseRate(rest: string[]): { max: number; windowMs: number } | null | 'bad' {
  const i = rest.indexOf('--rate');
  if (i < 0) return null;
  const m = /^(\d{1,7})\/(\d{1,7})$/.exec(rest[i + 1] ?? '');
  return m ? { max: Number(m[1]), windowMs: Number(m[2]) } : 'bad';
}

function usage(out: Out): number {
  out('usage: lead-router vendors add <vendor> [--rate <max>/<windowMs>] | rotate <vendor> | revoke <vendor> <keyId> | list | hash <key>');
  return 2;
}
