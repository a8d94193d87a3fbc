/**
 * Twilio-compatible REST adapter (Twilio itself, or any provider that copies its Messages API).
 *
 * Wire format: POST {baseUrl}/2010-04-01/Accounts/{accountSid}/Messages.json, form-encoded
 * To/From/Body[/StatusCallback], HTTP basic auth accountSid:authToken; the answer is JSON with
 * `sid` and `status`. We also send the key in I-Twilio-Idempotency-Token, but Twilio does not
 * honour it for API requests: a repeated POST is a second text.
 *
 * Lookup: GET the same URL with ?To=<e164>&From=<our sender>&PageSize=50 (the Messages list,
 * newest first) → { messages: [{ sid, to, from, status, date_created (RFC 2822) }], next_page_uri }.
 * Twilio keeps no reference of ours, so a message counts as ours when it went from our sender to
 * that number, was created at or after `since` minus a minute of clock skew, and Twilio has not
 * given up on it. We deliberately do not filter with `DateSent>=`: date_sent stays empty while a
 * message is queued, and a queued message is exactly the one we must not send again.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsLookupQuery, SmsLookupResult, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields } from './common-config.js';
import { call, createProviderPool, endpointPath, failureForStatus, lookupUnknown, post, snippet, unreadableAnswer } from './http.js';

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

/**
 * Statuses of a message that never reached the person: failed (Twilio could not send it),
 * undelivered (the carrier refused it), canceled (a scheduled message called off). Sending again
 * cannot text anyone twice. Every other status (queued, accepted, scheduled, sending, sent,
 * delivered, read, and any Twilio adds later) counts as a text: when in doubt, do not send again.
 */
const NOT_SENT_STATUSES = new Set(['failed', 'undelivered', 'canceled']);

/** Our clock and Twilio's disagree a little; a message created just "before" since is still ours. */
export const LOOKUP_CLOCK_SKEW_MS = 60_000;

const twilioPageSchema = z.object({
  messages: z.array(
    z.object({
      sid: z.string().min(1),
      to: z.string(),
      from: z.string().nullable(),
      status: z.string(),
      date_created: z.string().nullable(),
    }),
  ),
  next_page_uri: z.string().nullable().optional(),
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
    // A 2xx we cannot read: the message may be queued. Uncertain: the sink looks it up.
    if (!parsed.success) return unreadableAnswer(status, body);
    return { ok: true, providerMessageId: parsed.data.sid };
  }

  async function lookup(q: SmsLookupQuery): Promise<SmsLookupResult> {
    const query = new URLSearchParams({ To: q.to, From: cfg.from, PageSize: '50' });
    const out = await call(pool, { method: 'GET', path: `${path}?${query}`, headers: { authorization, accept: 'application/json' } }, cfg.timeoutMs);
    if (!out.answered || out.status < 200 || out.status >= 300) return lookupUnknown(out);
    const page = twilioPageSchema.safeParse(parseJson(out.body));
    if (!page.success) return { found: 'unknown', reason: `lookup: unexpected answer: ${snippet(out.body)}` };
    const cutoff = q.since - LOOKUP_CLOCK_SKEW_MS;
    const ours = page.data.messages.find(
      (m) =>
        m.to === q.to &&
        m.from === cfg.from &&
        !NOT_SENT_STATUSES.has(m.status) &&
        // An unreadable date is not a reason to send again.
        !(Date.parse(m.date_created ?? '') < cutoff),
    );
    if (ours) return { found: true, providerMessageId: ours.sid };
    // More pages: ours may be on one of them (Twilio sorts by date_sent, which a queued message
    // lacks). We text a number about once per dedup window, so a full page is rare: stay unknown.
    if (page.data.next_page_uri) return { found: 'unknown', reason: 'lookup: not on the first page of messages to this number' };
    return { found: false };
  }

  return { kind: 'twilio', send, lookup, close: () => pool.close() };
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
