/**
 * The `security` section of config/router.yaml: who may call ingest and how fast.
 *
 *   security:
 *     operators: [{ id: ops-1, hash: "hmac-sha256:…" }]      # Authorization: Bearer lro_…
 *     rateLimit: { max: 2000, windowMs: 1000 }               # per vendor, unless the vendor says otherwise
 *     vendors:                                               # seed keys; more live in MongoDB `vendors`
 *       acme-leads: { keys: [{ id: dev1, hash: "hmac-sha256:…" }], rateLimit: { max: 100, windowMs: 1000 } }
 *     buyers:                                                # buyer keys (lrb_…): lead returns
 *       acme-insurance: { keys: [{ id: b1, hash: "hmac-sha256:…" }] }
 *
 * Absent, it holds the development credentials (src/security/dev-credentials.ts), so a config
 * written before keys existed (the shared benchmark kit's) still runs on a laptop, and ingest
 * announces at start-up that public keys are in force.
 */
import { z } from 'zod';
import { HASH_SHAPE } from './credentials.js';
import { DEV_HASHES, DEV_VENDOR } from './dev-credentials.js';

export const VENDOR_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const credentialSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be 1-32 of a-z, 0-9 and -').describe('Public name of the key (logs, list, revoke).'),
    hash: z.string().regex(HASH_SHAPE, 'must be "hmac-sha256:<base64url>" as printed by `lead-router vendors hash`').describe('HMAC-SHA256(CREDENTIAL_PEPPER, key); never the key itself.'),
  })
  .strict();

export const rateLimitSchema = z
  .object({
    max: z.number().int().positive().describe('Requests allowed per window.'),
    windowMs: z.number().int().positive().max(3_600_000).describe('Window length in ms.'),
  })
  .strict();

const vendorSchema = z
  .object({
    keys: z.array(credentialSchema).min(1).describe('Active keys; two or more during a rotation. Remove one to revoke it.'),
    rateLimit: rateLimitSchema.optional().describe('This vendor\'s limit instead of security.rateLimit.'),
  })
  .strict();

/** A buyer's keys: `x-api-key: lrb_…` on the returns endpoint. The buyer must be in primary.buyers. */
const buyerKeysSchema = z
  .object({ keys: z.array(credentialSchema).min(1).describe('Active keys; two or more during a rotation. Remove one to revoke it.') })
  .strict();

const DEV_VENDORS = { [DEV_VENDOR]: { keys: [{ id: 'dev1', hash: DEV_HASHES.dev1 }, { id: 'dev2', hash: DEV_HASHES.dev2 }] } };
const DEV_OPERATORS = [{ id: 'dev-operator', hash: DEV_HASHES.operator }];

export const securitySchema = z
  .object({
    operators: z.array(credentialSchema).default(DEV_OPERATORS).describe('Operator tokens: history of any lead, readiness details.'),
    vendors: z.record(z.string().regex(VENDOR_NAME, 'vendor names are lower-case a-z, 0-9, ".", "_", "-"'), vendorSchema).default(DEV_VENDORS),
    buyers: z
      .record(z.string().min(1), buyerKeysSchema)
      .default({})
      .describe('Buyer keys (lrb_…, minted by `lead-router buyers key <buyer>`): a buyer returns the leads it bought with one.'),
    rateLimit: rateLimitSchema.default({ max: 2000, windowMs: 1000 }).describe('Per-vendor default: 2000 requests a second is above the 5,000 leads/min target by a wide margin and far below what one ingest process takes.'),
    vendorStore: z
      .object({
        collection: z.string().min(1).default('vendors').describe('MongoDB collection managed by `lead-router vendors`.'),
        refreshMs: z.number().int().min(500).default(5000).describe('How often ingest re-reads it; a revocation takes effect within this time.'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((s, ctx) => {
    // One key, one vendor: a hash listed twice would make the vendor depend on map order.
    const seen = new Map<string, string>();
    const check = (owner: string, path: (string | number)[], hash: string) => {
      const other = seen.get(hash);
      if (other) ctx.addIssue({ code: 'custom', path, message: `the same key is already listed for ${other}` });
      seen.set(hash, owner);
    };
    s.operators.forEach((o, i) => check(`operator ${o.id}`, ['operators', i, 'hash'], o.hash));
    for (const [vendor, v] of Object.entries(s.vendors)) {
      const ids = new Set<string>();
      v.keys.forEach((k, i) => {
        if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: ['vendors', vendor, 'keys', i, 'id'], message: `key id ${k.id} appears twice` });
        ids.add(k.id);
        check(`vendor ${vendor}`, ['vendors', vendor, 'keys', i, 'hash'], k.hash);
      });
    }
    for (const [buyer, b] of Object.entries(s.buyers)) b.keys.forEach((k, i) => check(`buyer ${buyer}`, ['buyers', buyer, 'keys', i, 'hash'], k.hash));
  });

export type SecurityConfig = z.output<typeof securitySchema>;
export type RateLimit = z.output<typeof rateLimitSchema>;

/** Which of the public development credentials this config accepts (ingest warns when any). */
export function devCredentialsInUse(s: SecurityConfig): string[] {
  const dev = new Set<string>(Object.values(DEV_HASHES));
  const found = s.operators.filter((o) => dev.has(o.hash)).map((o) => `operator ${o.id}`);
  for (const [vendor, v] of Object.entries(s.vendors)) found.push(...v.keys.filter((k) => dev.has(k.hash)).map((k) => `${vendor} key ${k.id}`));
  return found;
}
