/**
 * Builds an SMS adapter from config. The config is a discriminated union on `kind`, validated
 * here, so a typo in a provider's config fails at start-up with every problem listed, before any
 * lead is consumed. The adapter comes back with its sends paced (rate + concurrency).
 */
import { z } from 'zod';
import type { SmsAdapter } from './adapter.js';
import { createJsonAdapter, jsonAdapterConfigSchema } from './json.js';
import { createTwilioAdapter, twilioAdapterConfigSchema } from './twilio.js';
import { createXmlAdapter, xmlAdapterConfigSchema } from './xml.js';
import { createRateLimiter, withRateLimit } from '../rate-limit.js';

export type { SmsAdapter, SmsAdapterKind, SmsLookupQuery, SmsLookupResult, SmsMessage, SmsSendResult } from './adapter.js';
export { twilioAdapterConfigSchema, jsonAdapterConfigSchema, xmlAdapterConfigSchema };

export const smsAdapterConfigSchema = z
  .discriminatedUnion('kind', [twilioAdapterConfigSchema, jsonAdapterConfigSchema, xmlAdapterConfigSchema])
  .describe('One SMS provider: its wire format (kind), endpoint, credentials, sender and pacing.');

/** What a config file holds (defaults not yet applied). */
export type SmsAdapterConfigInput = z.input<typeof smsAdapterConfigSchema>;
/** After validation, defaults applied. */
export type SmsAdapterConfig = z.output<typeof smsAdapterConfigSchema>;

export class SmsAdapterConfigError extends Error {
  override readonly name = 'SmsAdapterConfigError';
  constructor(readonly issues: string[]) {
    super(`invalid SMS adapter config:\n  ${issues.join('\n  ')}`);
  }
}

export function parseSmsAdapterConfig(input: unknown): SmsAdapterConfig {
  const parsed = smsAdapterConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new SmsAdapterConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

/**
 * Validates cfg, builds the provider's adapter and wraps its sends in the rate limiter (lookups
 * pass through unpaced: they are not messages, and the pool's connection cap bounds them).
 * Throws SmsAdapterConfigError.
 */
export function createAdapter(cfg: SmsAdapterConfigInput): SmsAdapter {
  const c = parseSmsAdapterConfig(cfg);
  const raw = buildRaw(c);
  return withRateLimit(raw, createRateLimiter({ ratePerSecond: c.ratePerSecond, burst: c.burst, concurrency: c.concurrency }));
}

function buildRaw(c: SmsAdapterConfig): SmsAdapter {
  switch (c.kind) {
    case 'twilio':
      return createTwilioAdapter(c);
    case 'json':
      return createJsonAdapter(c);
    case 'xml':
      return createXmlAdapter(c);
  }
}
