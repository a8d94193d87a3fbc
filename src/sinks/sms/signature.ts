/**
 * Webhook signatures: proof that a delivery receipt or inbound reply came from the provider and
 * not from someone who guessed our URL (a forged STOP or START would change who we may text).
 *
 * Twilio: X-Twilio-Signature = base64(HMAC-SHA1(authToken, fullUrl + each POST param, sorted by
 * name, as name+value with no separators)). The URL is the exact one Twilio called, query string
 * included; behind a proxy the caller must rebuild the public URL, not use the internal one.
 * JSON and XML providers: `x-signature: sha256=<hex>` = HMAC-SHA256(secret, "<t>.<raw body>") with
 * `x-signature-timestamp: <t>` (unix seconds). The timestamp is inside the signature, so a captured
 * request cannot be replayed once it is more than SIGNATURE_TOLERANCE_S old (ingest also remembers
 * message ids: src/ingest/webhook-replay.ts).
 * Every comparison is constant-time so the expected signature cannot be learnt byte by byte.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** POST params as a form parser gives them; repeated names carry arrays. */
export type TwilioParams = Record<string, string | readonly string[] | undefined> | URLSearchParams;

export interface TwilioSignatureInput {
  authToken: string;
  /** The full URL Twilio requested, scheme, host, path and query string. */
  url: string;
  params: TwilioParams;
}

/** The string Twilio signs: url, then name+value for each param sorted by name (a repeated name: its values sorted). */
export function twilioSigningString(url: string, params: TwilioParams): string {
  const byName = new Map<string, string[]>();
  const add = (k: string, v: string): void => {
    const list = byName.get(k);
    if (list) list.push(v);
    else byName.set(k, [v]);
  };
  if (params instanceof URLSearchParams) {
    for (const [k, v] of params) add(k, v);
  } else {
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) continue;
      if (typeof v === 'string') add(k, v);
      else for (const item of v) add(k, item);
    }
  }
  let out = url;
  // Code-unit order, as Twilio's libraries sort (not locale order).
  for (const name of [...byName.keys()].sort()) {
    for (const value of (byName.get(name) ?? []).sort()) out += name + value;
  }
  return out;
}

export function signTwilio(input: TwilioSignatureInput): string {
  return createHmac('sha1', input.authToken).update(twilioSigningString(input.url, input.params), 'utf8').digest('base64');
}

export function verifyTwilioSignature(input: TwilioSignatureInput & { signature: string | undefined | null }): boolean {
  if (!input.signature || !input.authToken) return false;
  return constantTimeEqual(signTwilio(input), input.signature);
}

export const HMAC_SIGNATURE_HEADER = 'x-signature';
export const HMAC_TIMESTAMP_HEADER = 'x-signature-timestamp';
/** How far a signed timestamp may be from our clock, either way. */
export const SIGNATURE_TOLERANCE_S = 5 * 60;

export interface HmacSignatureInput {
  secret: string;
  /** The raw request body exactly as received (before any JSON/XML parsing). */
  rawBody: string | Buffer;
  /** The signed timestamp (unix seconds, as sent); without it the body alone is signed (the primitive, for test vectors). */
  timestamp?: string;
}

/** The header value: `sha256=<hex>`. */
export function signHmac(input: HmacSignatureInput): string {
  const mac = createHmac('sha256', input.secret);
  if (input.timestamp !== undefined) mac.update(`${input.timestamp}.`);
  return `sha256=${mac.update(input.rawBody).digest('hex')}`;
}

/** Both headers a json/xml provider sends (tests, the sandbox). */
export function hmacHeaders(secret: string, rawBody: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [HMAC_TIMESTAMP_HEADER]: timestamp, [HMAC_SIGNATURE_HEADER]: signHmac({ secret, rawBody, timestamp }) };
}

/** A signed timestamp that is a whole number of seconds within the tolerance of `nowMs`. */
export function freshTimestamp(timestamp: string | undefined, nowMs: number): boolean {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(Number(timestamp) - nowMs / 1000) <= SIGNATURE_TOLERANCE_S;
}

/** Accepts `sha256=<hex>` (hex in either case); anything else, or a missing header, is false. */
export function verifyHmacSignature(input: HmacSignatureInput & { signature: string | undefined | null }): boolean {
  if (!input.signature || !input.secret) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(input.signature.trim());
  if (!m?.[1]) return false;
  return constantTimeEqual(signHmac(input), `sha256=${m[1].toLowerCase()}`);
}

/** timingSafeEqual needs equal lengths; comparing digests of both sides keeps the length check constant-time too. */
function constantTimeEqual(expected: string, given: string): boolean {
  const a = createHmac('sha256', 'compare').update(expected).digest();
  const b = createHmac('sha256', 'compare').update(given).digest();
  return timingSafeEqual(a, b);
}
