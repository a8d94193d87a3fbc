/**
 * Generic JSON REST SMS adapter.
 *
 * Wire format (the provider's, mirrored by sandbox/sms-providers.ts):
 *   send:   POST {baseUrl}/v1/messages, `Authorization: Bearer <apiKey>`, `Idempotency-Key: <key>`,
 *           body {to, from, text[, statusCallbackUrl]} → 2xx {id, status: "accepted"}
 *   lookup: GET {baseUrl}/v1/messages?reference=<key>, same bearer key
 *           → 200 {messages: [{id, to, status, createdAt}]}   (empty list when none)
 *           status: accepted | queued | sent | delivered | failed | undelivered
 * The provider stores the Idempotency-Key as the message's reference so it can be searched, but
 * it does not de-duplicate on it: a repeated POST is a second text.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsLookupQuery, SmsLookupResult, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields, webhookSecretField } from './common-config.js';
import { call, createProviderPool, endpointPath, failureForStatus, lookupUnknown, post, snippet, unreadableAnswer } from './http.js';

export const jsonAdapterConfigSchema = z
  .object({
    kind: z.literal('json').describe('Generic JSON REST API (bearer key, Idempotency-Key header as the searchable reference).'),
    ...commonAdapterFields,
    apiKey: z.string().min(1).describe('API key sent as `Authorization: Bearer <apiKey>`.').meta({ secret: true }),
    webhookSecret: webhookSecretField,
  })
  .strict();

export type JsonAdapterConfig = z.output<typeof jsonAdapterConfigSchema>;

const jsonAnswerSchema = z.object({ id: z.string().min(1), status: z.literal('accepted') });

const jsonLookupSchema = z.object({
  messages: z.array(z.object({ id: z.string().min(1), to: z.string().optional(), status: z.string().optional() })),
});

/** Messages the provider gave up on: the person got nothing, so sending again is not a second text. */
const NOT_SENT_STATUSES = new Set(['failed', 'undelivered']);

export function createJsonAdapter(cfg: JsonAdapterConfig): SmsAdapter {
  const pool = createProviderPool({ baseUrl: cfg.baseUrl, connections: cfg.concurrency, timeoutMs: cfg.timeoutMs });
  const path = endpointPath(cfg.baseUrl, '/v1/messages');
  const authorization = `Bearer ${cfg.apiKey}`;

  async function send(msg: SmsMessage): Promise<SmsSendResult> {
    const payload: Record<string, string> = { to: msg.to, from: cfg.from, text: msg.body };
    if (msg.statusCallbackUrl) payload.statusCallbackUrl = msg.statusCallbackUrl;
    const outcome = await post(
      pool,
      path,
      {
        authorization,
        'content-type': 'application/json',
        accept: 'application/json',
        'idempotency-key': msg.idempotencyKey,
      },
      JSON.stringify(payload),
      cfg.timeoutMs,
    );
    if (!outcome.answered) return outcome.failure;
    const { status, body } = outcome;
    if (status < 200 || status >= 300) return failureForStatus(status, body);
    const parsed = jsonAnswerSchema.safeParse(parseJson(body));
    // A 2xx we cannot read may still be a queued text: uncertain, the sink looks it up.
    if (!parsed.success) return unreadableAnswer(status, body);
    return { ok: true, providerMessageId: parsed.data.id };
  }

  /**
   * The reference is unique per lead and destination, so any message under it that the provider
   * has not given up on is ours. No `since` filter: it could only turn a real match into a miss
   * (clock skew), and a miss means texting again.
   */
  async function lookup(q: SmsLookupQuery): Promise<SmsLookupResult> {
    const query = new URLSearchParams({ reference: q.idempotencyKey });
    const out = await call(pool, { method: 'GET', path: `${path}?${query}`, headers: { authorization, accept: 'application/json' } }, cfg.timeoutMs);
    if (!out.answered || out.status < 200 || out.status >= 300) return lookupUnknown(out);
    const parsed = jsonLookupSchema.safeParse(parseJson(out.body));
    if (!parsed.success) return { found: 'unknown', reason: `lookup: unexpected answer: ${snippet(out.body)}` };
    const ours = parsed.data.messages.find((m) => !NOT_SENT_STATUSES.has(m.status ?? ''));
    return ours ? { found: true, providerMessageId: ours.id } : { found: false };
  }

  return { kind: 'json', send, lookup, close: () => pool.close() };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
