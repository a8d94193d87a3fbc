/**
 * Generic JSON REST SMS adapter.
 *
 * Wire format: POST {baseUrl}/v1/messages, `Authorization: Bearer <apiKey>`, `Idempotency-Key`
 * header, body {to, from, text}; the answer is {id, status: "accepted"}.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields, webhookSecretField } from './common-config.js';
import { createProviderPool, endpointPath, failureForStatus, post, snippet } from './http.js';

export const jsonAdapterConfigSchema = z
  .object({
    kind: z.literal('json').describe('Generic JSON REST API (bearer key, Idempotency-Key header).'),
    ...commonAdapterFields,
    apiKey: z.string().min(1).describe('API key sent as `Authorization: Bearer <apiKey>`.').meta({ secret: true }),
    webhookSecret: webhookSecretField,
  })
  .strict();

export type JsonAdapterConfig = z.output<typeof jsonAdapterConfigSchema>;

const jsonAnswerSchema = z.object({ id: z.string().min(1), status: z.literal('accepted') });

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

    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const parsed = jsonAnswerSchema.safeParse(json);
    // Retriable: see twilio.ts; the Idempotency-Key makes the repeat safe.
    if (!parsed.success) return { ok: false, retriable: true, status, error: `unexpected answer: ${snippet(body)}` };
    return { ok: true, providerMessageId: parsed.data.id };
  }

  return { kind: 'json', send, close: () => pool.close() };
}
