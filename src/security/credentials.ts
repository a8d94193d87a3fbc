/**
 * API keys and operator tokens: how they look, how they are minted and how they are stored.
 *
 *   vendor key      lr_<keyId>_<secret>      sent as `x-api-key`
 *   operator token  lro_<tokenId>_<secret>   sent as `Authorization: Bearer …`
 *   buyer key       lrb_<keyId>_<secret>     sent as `x-api-key` (lead returns)
 *
 * The secret is 32 random bytes (base64url). The id is public: it names the key in `vendors
 * list`, in `revoke` and in logs, so a key can be talked about without being shown.
 *
 * Stored form: `hmac-sha256:<base64url>` = HMAC-SHA256(pepper, whole key). Not scrypt/argon2:
 * those slow hashes protect low-entropy passwords against guessing, and a 256-bit random secret
 * cannot be guessed however fast the hash is; a slow hash would only cost ~50 ms of CPU on every
 * request (the kind of per-request cost issue 8's ReDoS fix removed), or a cache of verified keys
 * that is a plaintext-equivalent of its own. HMAC with a pepper (CREDENTIAL_PEPPER, kept in the
 * environment, never beside the hashes) means a dump of the `vendors` collection or of the config
 * file cannot even confirm a guessed key. Lookup is by the hash itself (a Map), so no
 * comparison over secret bytes happens that could leak timing.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const VENDOR_KEY_PREFIX = 'lr_';
export const OPERATOR_TOKEN_PREFIX = 'lro_';
/** Buyer keys (lead returns) share the vendor keys' header and form, told apart by the prefix. */
export const BUYER_KEY_PREFIX = 'lrb_';
/** The pepper when CREDENTIAL_PEPPER is not set: fine on a laptop, announced loudly anywhere else. */
export const DEV_PEPPER = 'lead-router-dev-pepper';

const ID_SHAPE = /^[a-z0-9-]{1,32}$/;
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** What a stored hash looks like (config validation uses it). */
export const HASH_SHAPE = /^hmac-sha256:[A-Za-z0-9_-]{43}$/;

export function hashCredential(pepper: string, credential: string): string {
  return `hmac-sha256:${createHmac('sha256', pepper).update(credential, 'utf8').digest('base64url')}`;
}

/** A new credential: the plain value (shown once) and its id. */
export function mintCredential(prefix: string, id?: string): { id: string; value: string } {
  const keyId = id ?? randomBytes(5).toString('hex');
  if (!ID_SHAPE.test(keyId)) throw new Error(`key id "${keyId}" must be 1-32 of a-z, 0-9 and -`);
  return { id: keyId, value: `${prefix}${keyId}_${randomBytes(32).toString('base64url')}` };
}

/**
 * The id of a credential of this kind, or null when it is not shaped like one (then it is not
 * hashed at all: junk is refused before any work). Lengths are checked before patterns.
 */
export function credentialId(prefix: string, value: string): string | null {
  if (value.length > 100 || !value.startsWith(prefix)) return null;
  const rest = value.slice(prefix.length);
  const cut = rest.indexOf('_'); // ids have no '_', the base64url secret may
  if (cut <= 0) return null;
  const id = rest.slice(0, cut);
  return ID_SHAPE.test(id) && SECRET_SHAPE.test(rest.slice(cut + 1)) ? id : null;
}

/** `Authorization: Bearer <token>` → the token, else null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header || header.length > 200) return null;
  const m = /^Bearer +(\S+)$/i.exec(header.trim());
  return m?.[1] ?? null;
}
