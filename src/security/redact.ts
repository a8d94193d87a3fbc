/**
 * Personal data and secrets out of anything we log or report, at any depth: every key that names
 * a personal value or a credential is replaced, in nested objects and arrays alike, and free text
 * that can carry them (error messages and stacks, `reason`, `detail`, `error`) goes through
 * scrubReason(). Used by the pino logger (src/log.ts) for every line and by Sentry's beforeSend.
 * Depth and size are bounded, cycles are cut, and nothing is mutated: a logged lead stays intact.
 */
import { scrubReason } from './scrub.js';

export const REDACTED = '[redacted]';

/** Keys whose values are personal data or secrets wherever they appear (compared lower-cased). */
const SENSITIVE_KEYS = new Set([
  'firstname', 'lastname', 'first', 'last', 'email', 'address', 'phone', 'e164', 'to', 'from',
  'text', 'body', 'ip', 'consent', 'name.first', 'postcode', 'zip', 'raw', 'payload',
  'authorization', 'x-api-key', 'apikey', 'api_key', 'authtoken', 'secret', 'webhooksecret', 'password',
  'token', 'cookie', 'set-cookie', 'x-twilio-signature', 'x-signature', 'webhook-signature', 'credential_pepper',
]);
/** Free-text keys: kept, but scrubbed. */
const TEXT_KEYS = new Set(['message', 'msg', 'stack', 'reason', 'detail', 'error', 'err', 'lasterror', 'problems', 'url']);
const MAX_DEPTH = 8;
const MAX_TEXT = 2000;

export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEYS.has(key.toLowerCase());
}

export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; cause?: unknown };
    return {
      type: e.name,
      message: scrubReason(e.message ?? '', { max: MAX_TEXT }),
      ...(e.stack ? { stack: scrubReason(e.stack, { max: MAX_TEXT * 2 }) } : {}),
      ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
      ...(e.cause !== undefined ? { cause: redactDeep(e.cause, depth + 1, seen) } : {}),
    };
  }
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isSensitiveKey(k)) out[k] = v === null || v === undefined ? v : REDACTED;
    // fastify's request and reply: pino's own serializers reduce them to method, url and status.
    else if ((k === 'req' || k === 'res') && v !== null && typeof v === 'object' && Object.getPrototypeOf(v) !== Object.prototype) out[k] = v;
    else if (typeof v === 'string' && TEXT_KEYS.has(k.toLowerCase())) out[k] = scrubReason(v, { max: MAX_TEXT });
    else if (Array.isArray(v) && TEXT_KEYS.has(k.toLowerCase())) out[k] = v.map((x) => (typeof x === 'string' ? scrubReason(x, { max: MAX_TEXT }) : redactDeep(x, depth + 1, seen)));
    else out[k] = redactDeep(v, depth + 1, seen);
  }
  return out;
}
