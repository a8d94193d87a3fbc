/**
 * XML SMS API adapter.
 *
 * Wire format: POST {baseUrl}/api/sms.xml, `X-Api-Key: <apiKey>`, body
 * <message><to/><from/><text/><reference/></message> where reference carries the idempotency key;
 * the answer is <response><status>OK</status><messageId>…</messageId></response>, or
 * <response><status>ERROR</status><code/><error/></response> with a 4xx/5xx.
 */
import { z } from 'zod';
import type { SmsAdapter, SmsMessage, SmsSendResult } from './adapter.js';
import { commonAdapterFields, webhookSecretField } from './common-config.js';
import { createProviderPool, endpointPath, failureForStatus, post, snippet } from './http.js';
import { buildMessageXml, parseResponseXml } from './xml-codec.js';

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
    // A 2xx that is not <status>OK</status> with an id: we cannot tell whether it was taken.
    // Retriable because the <reference> makes the provider answer a repeat with the original id.
    if (parsed?.status !== 'OK') return { ok: false, retriable: true, status, error: `unexpected answer: ${snippet(answer)}` };
    return { ok: true, providerMessageId: parsed.messageId };
  }

  return { kind: 'xml', send, close: () => pool.close() };
}
