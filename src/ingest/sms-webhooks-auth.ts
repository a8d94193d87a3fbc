/**
 * Whether an SMS webhook request may be read at all: its content type, then its signature, then
 * (json/xml) how fresh the signed timestamp is. Nothing in the body is parsed before this passes,
 * so an unauthenticated caller can neither forge a STOP/START nor make us parse XML.
 *
 * Signatures, per provider kind (src/sinks/sms/signature.ts does the cryptography):
 *  - twilio: X-Twilio-Signature over the full public URL + sorted form params, key = authToken.
 *  - json and xml: `x-signature: sha256=<hex>` = HMAC-SHA256(webhookSecret, "<t>.<raw body>")
 *    and `x-signature-timestamp: <t>` (unix seconds), refused (403) more than 5 minutes from our clock.
 * A provider configured without its secret fails closed: the verifiers refuse an empty key.
 */
import type { FastifyRequest } from 'fastify';
import { freshTimestamp, HMAC_SIGNATURE_HEADER, HMAC_TIMESTAMP_HEADER, verifyHmacSignature, verifyTwilioSignature } from '../sinks/sms/signature.js';
import type { SmsProviderWebhookConfig } from './sms-webhooks-contract.js';
import { WebhookError } from './sms-webhooks-errors.js';

export type BodyFormat = 'form' | 'json' | 'xml';
/** What the plugin's content-type parsers put in req.body: the raw string, parsed later (after the signature check). */
export interface WebhookBody {
  format: BodyFormat;
  raw: string;
}

export interface RouteShape {
  Params: { provider: string };
  Body: WebhookBody | undefined;
}

export const FORMAT_OF: Record<SmsProviderWebhookConfig['kind'], BodyFormat> = { twilio: 'form', json: 'json', xml: 'xml' };
export const MEDIA_TYPE_OF: Record<BodyFormat, string> = { form: 'application/x-www-form-urlencoded', json: 'application/json', xml: 'application/xml' };

/** What authenticate needs from the plugin's deps: our clock, and the URL Twilio was told to call. */
export interface AuthContext {
  now: () => number;
  /** See SmsWebhookDeps.publicBaseUrl: when absent, the request's host header + protocol. */
  publicBaseUrl?: string;
}

/** Content type, then signature (and its timestamp): the body comes back only when it may be read. */
export function authenticate(req: FastifyRequest<RouteShape>, p: SmsProviderWebhookConfig, name: string, ctx: AuthContext): { raw: string; timestamp: string } {
  const body = req.body;
  const format = FORMAT_OF[p.kind];
  if (!body || body.format !== format) throw new WebhookError(415, 'unsupported_media_type', `send ${MEDIA_TYPE_OF[format]}`);
  const ok =
    p.kind === 'twilio'
      ? twilioUrlCandidates(publicUrl(req, ctx.publicBaseUrl)).some((url) =>
          verifyTwilioSignature({ authToken: p.authToken ?? '', url, params: new URLSearchParams(body.raw), signature: header(req, 'x-twilio-signature') }),
        )
      : verifyHmacSignature({ secret: p.webhookSecret ?? '', rawBody: body.raw, signature: header(req, HMAC_SIGNATURE_HEADER), timestamp: header(req, HMAC_TIMESTAMP_HEADER) ?? '' });
  if (!ok) {
    req.log.warn({ provider: name, url: req.url }, 'sms webhook refused: bad or missing signature');
    throw new WebhookError(403, 'forbidden', 'bad or missing signature');
  }
  const timestamp = header(req, HMAC_TIMESTAMP_HEADER) ?? '';
  // Signed, but when? Outside the window it is a replay of a captured request (or a clock off by minutes).
  if (p.kind !== 'twilio' && !freshTimestamp(timestamp, ctx.now())) {
    req.log.warn({ provider: name, url: req.url }, 'sms webhook refused: signed timestamp outside ±5 minutes');
    throw new WebhookError(403, 'stale_signature', `${HMAC_TIMESTAMP_HEADER} missing or more than 5 minutes from now`);
  }
  return { raw: body.raw, timestamp };
}

function publicUrl(req: FastifyRequest, publicBaseUrl: string | undefined): string {
  const base = publicBaseUrl ? withoutTrailingSlashes(publicBaseUrl) : `${req.protocol}://${req.host}`;
  return base + req.url;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Twilio signs the URL it was configured with; for the default port it has signed both with and
 * without ":443"/":80" over the years (twilio-node's validateRequest accepts either), so try both.
 */
export function twilioUrlCandidates(url: string): string[] {
  // [\s\S]* rather than .*: the tail can never fail, so the host run is never re-split (linear time).
  const m = /^(https?):\/\/([^/?#:]+)(:\d+)?([\s\S]*)$/i.exec(url);
  if (!m) return [url];
  const [, scheme = '', host = '', port, rest = ''] = m;
  const defaultPort = scheme.toLowerCase() === 'https' ? ':443' : ':80';
  if (!port) return [url, `${scheme}://${host}${defaultPort}${rest}`];
  if (port === defaultPort) return [url, `${scheme}://${host}${rest}`];
  return [url];
}

/** "https://x.example//" → "https://x.example"; a loop: /\/+$/ is quadratic on a long slash run not at the end. */
function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return url.slice(0, end);
}
