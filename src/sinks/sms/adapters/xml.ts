/**
 * XML SMS API adapter.
 *
 * Wire format (the provider's, mirrored by sandbox/sms-providers.ts):
 *   send:   POST {baseUrl}/api/sms.xml, `X-Api-Key: <apiKey>`, body
 *           <message><to/><from/><text/><reference/></message> where reference carries our key;
 *           the answer is <response><status>OK</status><messageId>…</messageId></response>, or
 *           <response><status>ERROR</status><code/><error/></response> with a 4xx/5xx.
 *   lookup: GET {baseUrl}/api/sms.xml?reference=<key>, same X-Api-Key
 *           → <response><status>OK</status><messages><message><messageId/><to/><status/></message>…
 *             </messages></response> (<status> per message optional: queued, sent, delivered,
 *             failed, undelivered).
 * The provider keeps the reference for searching; it does not de-duplicate on it.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsLookupQuery, SmsLookupResult, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields, webhookSecretField } from './common-config.js';
import { call, createProviderPool, endpointPath, failureForStatus, lookupUnknown, post, snippet, unreadableAnswer } from './http.js';
import { buildMessageXml, parseLookupXml, parseResponseXml } from './xml-codec.js';

export const XML_API_KEY_HEADER = 'x-api-key';

export const xmlAdapterConfigSchema = z
  .object({
    kind: z.literal('xml').describe('XML API (X-Api-Key header, <message> documents).'),
    ...commonAdapterFields,
    apiKey: z.string().min(1).describe('API key sent in the X-Api-Key header.').meta({ secret: true }),
    webhookSecret: webhookSecretField,
  })
  .strict();

export type XmlAdapterConfig = z.output<typeof xmlAdapterConfigSchema>;

/** Messages the provider gave up on: the person got nothing, so sending again is not a second text. */
const NOT_SENT_STATUSES = new Set(['failed', 'undelivered']);

export function createXmlAdapter(cfg: XmlAdapterConfig): SmsAdapter {
  const pool = createProviderPool({ baseUrl: cfg.baseUrl, connections: cfg.concurrency, timeoutMs: cfg.timeoutMs });
  const path = endpointPath(cfg.baseUrl, '/api/sms.xml');

  async function send(msg: SmsMessage): Promise<SmsSendResult> {
    const body = buildMessageXml({ to: msg.to, from: cfg.from, text: msg.body, reference: msg.idempotencyKey });
    const outcome = await post(
      pool,
      path,
      { [XML_API_KEY_HEADER]: cfg.apiKey, 'content-type': 'application/xml; charset=utf-8', accept: 'application/xml' },
      body,
      cfg.timeoutMs,
    );
    if (!outcome.answered) return outcome.failure;
    const { status, body: answer } = outcome;
    const parsed = parseResponseXml(answer);
    if (status < 200 || status >= 300) {
      const failure = failureForStatus(status, answer);
      if (failure.ok || parsed?.status !== 'ERROR') return failure;
      return { ...failure, error: `xml ${parsed.code}: ${parsed.error} (http ${status})` };
    }
    // A 2xx that is not <status>OK</status> with an id may still be a queued text: uncertain.
    if (parsed?.status !== 'OK') return unreadableAnswer(status, answer);
    return { ok: true, providerMessageId: parsed.messageId };
  }

  /** By reference, unique per lead and destination; no `since` filter (see json.ts). */
  async function lookup(q: SmsLookupQuery): Promise<SmsLookupResult> {
    const query = new URLSearchParams({ reference: q.idempotencyKey });
    const out = await call(pool, { method: 'GET', path: `${path}?${query}`, headers: { [XML_API_KEY_HEADER]: cfg.apiKey, accept: 'application/xml' } }, cfg.timeoutMs);
    if (!out.answered || out.status < 200 || out.status >= 300) return lookupUnknown(out);
    const messages = parseLookupXml(out.body);
    if (!messages) return { found: 'unknown', reason: `lookup: unexpected answer: ${snippet(out.body)}` };
    const ours = messages.find((m) => !NOT_SENT_STATUSES.has(m.status ?? ''));
    return ours ? { found: true, providerMessageId: ours.messageId } : { found: false };
  }

  return { kind: 'xml', send, lookup, close: () => pool.close() };
}
