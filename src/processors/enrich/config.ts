/**
 * Configuration of the enricher. The schema is the documentation: every field says what it does
 * and its default; `z.toJSONSchema(enricherConfigSchema)` renders it for the ops docs.
 * Defaults match the sandbox verifier (sandbox/verifier.ts).
 */
import { z } from 'zod';

export const emailStatusSchema = z.enum(['valid', 'invalid', 'risky', 'unknown']);

export const verifierResponseMappingSchema = z
  .object({
    verdictField: z
      .string()
      .min(1)
      .default('result')
      .describe('Dot path of the JSON field that holds the verdict, e.g. "result" or "data.status".'),
    reasonField: z
      .string()
      .min(1)
      .nullable()
      .default('reason')
      .describe('Dot path of the JSON field that holds the reason ("mailbox_not_found"); null if the API gives none (the verdict is used).'),
    verdicts: z
      .record(z.string(), emailStatusSchema)
      .default({ deliverable: 'valid', undeliverable: 'invalid', risky: 'risky', unknown: 'unknown' })
      .describe('How each verdict value maps to our status. A value not listed gives unknown with reason verifier_unmapped:<value>.'),
  })
  .describe('How to read the verifier answer.');

export const breakerConfigSchema = z
  .object({
    errorThresholdPercentage: z
      .number()
      .min(1)
      .max(100)
      .default(50)
      .describe('Open the circuit when this percentage of calls in the rolling window failed or timed out.'),
    volumeThreshold: z
      .number()
      .int()
      .min(1)
      .default(10)
      .describe('Minimum calls in the window before the circuit may open (a single early failure does not open it).'),
    resetTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('How long the circuit stays open before one trial call is let through (half-open).'),
    rollingCountTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Length of the rolling window failures are counted in.'),
  })
  .describe('Circuit breaker (opossum) around the verifier: when it keeps failing, stop calling it for a while.');

export const verifierConfigSchema = z
  .object({
    url: z.url().describe('Full URL of the verify endpoint, e.g. http://127.0.0.1:4721/v1/verify.'),
    apiKey: z.string().default('sandbox-key').describe('API key sent with every call.'),
    apiKeyHeader: z.string().min(1).default('x-api-key').describe('Header that carries the API key.'),
    // POST only: a query string ends up in access logs, proxies and the verifier's own logs.
    method: z.literal('POST').default('POST').describe('The address travels in a JSON body, never in the URL.'),
    emailParam: z.string().min(1).default('email').describe('Name of the JSON body field that carries the address.'),
    allowInsecure: z.boolean().default(false).describe('Allow an http:// URL that is not loopback (a network you trust).'),
    maxResponseBytes: z.number().int().positive().default(64 * 1024).describe('Answers larger than this are refused unread (verifier_bad_response).'),
    mapping: verifierResponseMappingSchema.prefault({}),
    budgetMs: z
      .number()
      .int()
      .positive()
      .default(300)
      .describe('Time budget per lead, queueing included. Past it the lead goes on as unknown / verifier_timeout; a late answer still fills the cache.'),
    concurrency: z.number().int().positive().default(64).describe('Maximum verifier calls in flight from this process (p-limit).'),
    connections: z.number().int().positive().default(64).describe('Keep-alive connections in the HTTP pool (undici Pool).'),
    cacheSize: z.number().int().min(0).default(100_000).describe('Addresses remembered (LRU); 0 disables the cache.'),
    cacheTtlMs: z
      .number()
      .int()
      .positive()
      .default(24 * 3_600_000)
      .describe('How long a verdict is reused; within it the same address is not verified twice (source "cache").'),
    breaker: breakerConfigSchema.prefault({}),
  })
  .describe('External email-verification API. Absent or null: verification is off and passing addresses are unknown / not_verified.');

export const jobTitleConfigSchema = z
  .object({
    minScore: z.number().min(0).max(1).default(0.6).describe('Confidence (0..1) below which a title is reported unmatched (canonical null).'),
    cacheSize: z.number().int().positive().default(20_000).describe('Distinct raw titles whose result is remembered (LRU).'),
    dataDir: z.string().optional().describe('Directory with canonical.tsv, aliases.tsv, abbreviations.tsv, noise-*.txt (default: the repository data/job-titles).'),
  })
  .describe('Job-title normalization.');

export const enricherConfigSchema = z
  .object({
    verifier: verifierConfigSchema.nullable().default(null),
    jobTitle: jobTitleConfigSchema.prefault({}),
  })
  .describe('The enrich stage: email, phone, names, ZIP → time zone, job title.');

export type EnricherConfigInput = z.input<typeof enricherConfigSchema>;
export type EnricherConfig = z.output<typeof enricherConfigSchema>;
export type VerifierConfig = z.output<typeof verifierConfigSchema>;
export type VerifierConfigInput = z.input<typeof verifierConfigSchema>;
