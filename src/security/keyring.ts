/**
 * Who is calling: vendor keys and operator tokens, looked up by their hash.
 *
 * Vendor keys come from two places, merged:
 *  - config (`security.vendors`): the seed, always present, needs no database (dev keys, or a
 *    vendor that must keep working whatever happens to MongoDB);
 *  - the MongoDB `vendors` collection that `lead-router vendors add|rotate|revoke` manages.
 * Ingest must take leads while MongoDB is away, so requests never read MongoDB: the collection is
 * read every `refreshMs` into memory and the last good copy stays in force when a read fails. A
 * revocation therefore takes effect within one refresh. Until the first read has succeeded, an
 * unknown but well-formed key may belong to a collection vendor: it is answered "not yet"
 * (503 + Retry-After, the vendor retries) rather than "forbidden".
 */
import type { Collection } from 'mongodb';
import { FIRST_BATCH, deadline } from '../mongo-ops.js';
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import { bearerToken, BUYER_KEY_PREFIX, credentialId, hashCredential, OPERATOR_TOKEN_PREFIX, VENDOR_KEY_PREFIX } from './credentials.js';
import type { RateLimit, SecurityConfig } from './security-config.js';

export interface VendorPrincipal {
  kind: 'vendor';
  vendor: string;
  keyId: string;
  rateLimit: RateLimit | null;
}
export interface OperatorPrincipal {
  kind: 'operator';
  operatorId: string;
}
/** A lead buyer, by its key from config (security.buyers): it may return leads it bought. */
export interface BuyerPrincipal {
  kind: 'buyer';
  buyer: string;
  keyId: string;
}
export type Principal = VendorPrincipal | OperatorPrincipal | BuyerPrincipal;

/** `missing`: no credential (401); `invalid`: a wrong one (403); `not_loaded`: ask again soon (503). */
export type Authentication = { ok: true; principal: Principal } | { ok: false; why: 'missing' | 'invalid' | 'not_loaded' };

/** A document of the `vendors` collection (src/security/vendors-cli.ts writes them). */
export interface VendorDoc {
  _id: string;
  keys: { id: string; hash: string; createdAt: Date; revokedAt: Date | null }[];
  rateLimit?: RateLimit | null;
  createdAt: Date;
  /** Optimistic concurrency for the CLI's read-modify-write (FerretDB 1.x has no arrayFilters). */
  version: number;
}

export interface Keyring {
  /** From the `x-api-key` header. */
  vendor(apiKey: string | undefined): Authentication;
  /** From the `authorization` header (Bearer). */
  operator(authorization: string | undefined): Authentication;
  /** A buyer key (lrb_…) from the `x-api-key` header. */
  buyer(apiKey: string | undefined): Authentication;
  /** Vendors known right now (config and collection). */
  vendors(): string[];
  close(): void;
}

export interface KeyringOptions {
  security: SecurityConfig;
  pepper: string;
  /** The collection, or null to use config alone (tests, tools). */
  collection: (() => Collection<VendorDoc>) | null;
  log: Pick<Logger, 'warn' | 'info'>;
  refreshMs?: number;
}

type Entry = Omit<VendorPrincipal, 'kind'>;

export async function openKeyring(opts: KeyringOptions): Promise<Keyring> {
  const { security } = opts;
  const fromConfig = new Map<string, Entry>();
  for (const [vendor, v] of Object.entries(security.vendors)) {
    for (const k of v.keys) fromConfig.set(k.hash, { vendor, keyId: k.id, rateLimit: v.rateLimit ?? null });
  }
  const operators = new Map(security.operators.map((o) => [o.hash, o.id]));
  const buyerKeys = new Map(Object.entries(security.buyers ?? {}).flatMap(([buyer, b]) => b.keys.map((k) => [k.hash, { buyer, keyId: k.id }] as const)));
  let keys = new Map(fromConfig);
  let loaded = opts.collection === null;
  let failing = false;

  let refreshing = false;
  async function refresh(): Promise<void> {
    // One read at a time: a MongoDB that hangs must not collect a pile of waiting reads.
    if (!opts.collection || refreshing) return;
    refreshing = true;
    try {
      const docs = await deadline('vendor keys', 2000, opts.collection().find({}, { batchSize: FIRST_BATCH }).toArray());
      const next = new Map(fromConfig);
      for (const doc of docs) {
        for (const k of doc.keys ?? []) {
          // Config wins for a vendor it names: a key there cannot be shadowed from the database.
          if (!k.revokedAt && !next.has(k.hash)) next.set(k.hash, { vendor: doc._id, keyId: k.id, rateLimit: doc.rateLimit ?? security.vendors[doc._id]?.rateLimit ?? null });
        }
      }
      keys = next;
      if (failing || !loaded) opts.log.info({ vendors: new Set([...next.values()].map((e) => e.vendor)).size }, 'vendor keys loaded');
      loaded = true;
      failing = false;
    } catch (err) {
      if (!failing) opts.log.warn({ err: messageOf(err) }, 'vendor keys: MongoDB not readable; the last good set stays in force');
      failing = true;
    } finally {
      refreshing = false;
    }
  }

  // A first read before ingest listens, but never a long wait for a MongoDB that is away.
  await Promise.race([refresh(), new Promise((r) => setTimeout(r, 3000).unref())]);
  const timer = setInterval(() => void refresh(), opts.refreshMs ?? security.vendorStore.refreshMs);
  timer.unref();

  return {
    vendor(apiKey) {
      if (apiKey === undefined || apiKey === '') return { ok: false, why: 'missing' };
      // Junk is refused by its shape, before any hashing.
      if (credentialId(VENDOR_KEY_PREFIX, apiKey) === null) return { ok: false, why: 'invalid' };
      const entry = keys.get(hashCredential(opts.pepper, apiKey));
      if (entry) return { ok: true, principal: { kind: 'vendor', ...entry } };
      return { ok: false, why: loaded ? 'invalid' : 'not_loaded' };
    },
    operator(authorization) {
      if (authorization === undefined || authorization === '') return { ok: false, why: 'missing' };
      const token = bearerToken(authorization);
      if (!token || credentialId(OPERATOR_TOKEN_PREFIX, token) === null) return { ok: false, why: 'invalid' };
      const operatorId = operators.get(hashCredential(opts.pepper, token));
      return operatorId ? { ok: true, principal: { kind: 'operator', operatorId } } : { ok: false, why: 'invalid' };
    },
    buyer(apiKey) {
      if (apiKey === undefined || apiKey === '') return { ok: false, why: 'missing' };
      if (credentialId(BUYER_KEY_PREFIX, apiKey) === null) return { ok: false, why: 'invalid' };
      const entry = buyerKeys.get(hashCredential(opts.pepper, apiKey));
      return entry ? { ok: true, principal: { kind: 'buyer', ...entry } } : { ok: false, why: 'invalid' };
    },
    vendors: () => [...new Set([...keys.values()].map((e) => e.vendor))].sort(),
    close: () => clearInterval(timer),
  };
}
