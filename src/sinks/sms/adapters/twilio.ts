/**
 * Twilio-compatible REST adapter (Twilio itself, or any provider that copies its Messages API).
 *
 * Wire format: POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json, form-encoded
 * To/From/Body[/StatusCallback], HTTP basic auth accountSid:authToken, the idempotency key in
 * I-Twilio-Idempotency-Token; the answer is JSON with `sid` and `status`.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields } from './common-config.js';
import { createProviderPool, endpointPath, failureForStatus, post, snippet } from './http.js';

export const TWILIO_IDEMPOTENCY_HEADER = 'i-twilio-idempotency-token';

export const twilioAdapterConfigSchema = z
  .object({
    kind: z.literal('twilio').describe('Twilio-compatible Messages API (form-encoded, basic auth).'),
    ...commonAdapterFields,
    accountSid: z.string().min(1).describe('Account SID: the basic-auth user and part of the Messages URL (AC…).'),
    authToken: z
      .string()
      .min(1)
      .describe('Auth token: the basic-auth password; also the key Twilio signs webhooks with.')
      .meta({ secret: true }),
  })
  .strict();

export type TwilioAdapterConfig = z.output<typeof twilioAdapterConfigSchema>;

/** Statuses that mean the provider took the message; anything else in a 2xx answer is not trusted. */
const ACCEPTED_STATUSES = ['queued', 'accepted', 'sending', 'sent'] as const;

const twilioAnswerSchema = z.object({
  sid: z.string().min(1),
  status: z.enum(ACCEPTED_STATUSES),
});

/** Twilio's error body: { code, message, more_info, status }. */
const twilioErrorSchema = z.object({ code: z.number().optional(), message: z.string().optional() });

export function createTwilioAdapter(cfg: TwilioAdapterConfig): SmsAdapter {
  const pool = createProviderPool({ baseUrl: cfg.baseUrl, connections: cfg.concurrency, timeoutMs: cfg.timeoutMs });
  const path = endpointPath(cfg.baseUrl, `/2010-04-01/Accounts/${encodeURIComponent(cfg.accountSid)}/Messages.json`);
  const authorization = `Basic ${Buffer.from(`${cfg.accountSid}:${cfg.authToken}`).toString('base64')}`;

  async function send(msg: SmsMessage): Promise<SmsSendResult> {
    const form = new URLSearchParams({ To: msg.to, From: cfg.from, Body: msg.body });
    if (msg.statusCallbackUrl) form.set('StatusCallback', msg.statusCallbackUrl);
    const outcome = await post(
      pool,
      path,
      {
        authorization,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        [TWILIO_IDEMPOTENCY_HEADER]: msg.idempotencyKey,
      },
      form.toString(),
      cfg.timeoutMs,
    );
    if (!outcome.answered) return outcome.failure;
    const { status, body } = outcome;
    if (status < 200 || status >= 300) return withTwilioError(failureForStatus(status, body), body);

    const parsed = twilioAnswerSchema.safeParse(parseJson(body));
    if (!parsed.success) {
      // A 2xx we cannot read: the message may or may not be queued. Retriable, because the
      // idempotency token makes a repeat return the original sid instead of texting twice.
      return { ok: false, retriable: true, status, error: `unexpected answer: ${snippet(body)}` };
    }
    return { ok: true, providerMessageId: parsed.data.sid };
  }

  return {
    kind: 'twilio',
    send,
    close: () => pool.close(),
  };
}

/** Puts Twilio's numeric error code (21211 invalid 'To', 20003 auth…) up front: it is what on-call searches for. */
function withTwilioError(result: SmsSendResult, body: string): SmsSendResult {
  if (result.ok) return result;
  const err = twilioErrorSchema.safeParse(parseJson(body));
  if (!err.success || err.data.code === undefined) return result;
  return { ...result, error: `twilio ${err.data.code}: ${err.data.message ?? ''} (${result.error})` };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
