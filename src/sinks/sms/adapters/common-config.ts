/**
 * Config fields every SMS provider has. Each adapter's schema extends these, so the spec (and the
 * docs generated from it) says the same thing about pacing and timeouts for every provider.
 */
import { z } from 'zod';

export const commonAdapterFields = {
  baseUrl: z.url().describe('Provider API base URL, e.g. https://api.twilio.com; a path prefix is kept.'),
  from: z.string().min(1).describe('Sender: an E.164 number, short code or alphanumeric sender id registered with the provider.'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    // At most 15 s: a send starts within 15 s of its intent and must be over before another
    // owner may look it up, 30 s after the intent (src/sinks/sms/sms-sink.ts).
    .max(15_000)
    .default(5_000)
    .describe('Deadline for one send call (connect + answer), at most 15 s; past it the send fails as retriable.'),
  concurrency: z
    .number()
    .int()
    .positive()
    .max(256)
    .default(8)
    .describe('Most sends in flight at once to this provider; also the size of the keep-alive connection pool.'),
  ratePerSecond: z
    .number()
    .positive()
    .max(10_000)
    .default(10)
    .describe('Sustained send rate the provider account allows (messages per second); sends are paced to it.'),
  allowInsecure: z.boolean().default(false).describe('Allow an http:// baseUrl that is not loopback (a network you trust): credentials and phone numbers then travel in clear text.'),
  burst: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe('Sends allowed back to back before pacing starts; 1 paces every send evenly, which providers that count per second prefer.'),
};

/** json and xml providers sign their webhooks with a shared secret (Twilio uses its auth token instead). */
export const webhookSecretField = z
  .string()
  .min(1)
  .optional()
  .describe('Shared secret the provider signs its webhooks (inbound replies, delivery receipts) with: `x-signature: sha256=<hex>` = HMAC-SHA256 of `<x-signature-timestamp>.<raw body>`, the timestamp (unix seconds) within 5 minutes of ours. Without it every webhook from this provider is refused (403).')
  .meta({ secret: true });
