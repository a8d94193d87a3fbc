/**
 * The SMS providers' webhooks as a fastify plugin: inbound replies (STOP/START/HELP/…) and
 * delivery receipts. Everything it needs is injected, so tests run through `app.inject()`.
 *
 *   POST /v1/webhooks/sms/:provider/inbound   a person's reply → onReply, then TwiML / JSON / XML ack
 *   POST /v1/webhooks/sms/:provider/status    a delivery receipt → onReceipt, then 204
 *
 * Order of checks, so that nothing unauthenticated is ever recorded or even parsed:
 *   unknown provider 404 → wrong content type 415 → bad or missing signature 403 →
 *   malformed body / missing field 400 → onReply/onReceipt rejected 503 (the provider retries).
 * A forged STOP or START would change who we may text, hence signature first, and a provider
 * configured without its secret fails closed (403 for every request, warned at start-up).
 *
 * Wire formats, per provider kind (src/sinks/sms/adapters):
 *  - twilio: form-encoded, as Twilio posts them. Inbound From/To/Body/MessageSid; receipts
 *    MessageSid/MessageStatus/ErrorCode (what sandbox/sms-providers.ts posts to StatusCallback).
 *    Signed with X-Twilio-Signature over the full public URL + sorted params, key = authToken.
 *  - json: `{from, to, text, id}` inbound, `{id, status, errorCode?}` receipts; the same field
 *    names as the JSON adapter's outbound `{to, from, text}` and its answer `{id, status}`.
 *  - xml: the XML adapter's vocabulary (xml-codec.ts: <to>/<from>/<text>, text-only children,
 *    string values) under roots that cannot be mistaken for an outbound <message>:
 *      <inbound><from>+14155550123</from><to>+15005550006</to><text>STOP</text><id>X1</id></inbound>
 *      <receipt><id>X1</id><status>delivered</status><errorCode>30003</errorCode></receipt>
 *    and answers in the adapter's <response> envelope: <response><status>OK</status><intent>STOP</intent></response>,
 *    errors as <response><status>ERROR</status><code/><error/></response>.
 *  json and xml are signed with `x-signature: sha256=<hex>` = HMAC-SHA256(webhookSecret, "<t>.<raw body>")
 *  and `x-signature-timestamp: <t>` (unix seconds), refused (403) more than 5 minutes from our clock.
 *
 * Replays: an inbound reply is processed once per provider message id (webhook-replay.ts); a
 * repeat gets the original answer and changes nothing, so a captured START cannot undo a STOP.
 *
 * Body parsing: the content-type parsers (form, XML and an override of JSON) are registered in
 * this plugin's encapsulated context only, so routes elsewhere (POST /v1/leads) still refuse
 * non-JSON with 415. They read the body as a string and keep it untouched on the request
 * (`req.body.raw`): the HMAC is over the exact bytes received. Parsing the content happens in the
 * handler after the signature is checked, so an unauthenticated caller cannot make us parse XML.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { SmsProviderConfig } from '../config.js';
import { classifyReply, type ReplyIntent } from '../sinks/sms/reply-intent.js';
import { freshTimestamp, HMAC_SIGNATURE_HEADER, HMAC_TIMESTAMP_HEADER, verifyHmacSignature, verifyTwilioSignature } from '../sinks/sms/signature.js';
import { inboundAnswer, webhookSchema } from './sms-webhooks-schema.js';
import { derivedMessageId, memoryLedger, type ReplayLedger } from './webhook-replay.js';
import { buildResponseXml, escapeXml } from '../sinks/sms/adapters/xml-codec.js';

export interface SmsProviderWebhookConfig {
  kind: 'twilio' | 'json' | 'xml';
  /** twilio: the account's auth token, the key of X-Twilio-Signature. */
  authToken?: string;
  /** json/xml: the shared secret of `x-signature: sha256=<hex>` (HMAC-SHA256 of the raw body). */
  webhookSecret?: string;
  /** How a `from` written without a +country code is read (json/xml); without it such numbers must be international. */
  defaultCountry?: 'US' | 'GB';
}

export interface InboundReply {
  provider: string;
  /** E.164. */
  from: string;
  to: string | null;
  text: string;
  intent: ReplyIntent;
  providerMessageId: string | null;
  receivedAt: number;
}

export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'undelivered';

export interface DeliveryReceipt {
  provider: string;
  providerMessageId: string;
  status: DeliveryStatus;
  errorCode: string | null;
  /** When the receipt arrived (providers do not all say when the status changed): not part of its identity. */
  at: number;
}

export interface SmsWebhookDeps {
  providers: Record<string, SmsProviderWebhookConfig>;
  /** Public base URL the providers call (Twilio signs the full URL), e.g. http://127.0.0.1:3000 ; when absent use the request's host header + protocol. */
  publicBaseUrl?: string;
  /** Durably records the reply (Kafka, acks=all) — resolves when safe. */
  onReply(reply: InboundReply): Promise<void>;
  /** Durably records a receipt; must be idempotent (the same callback can arrive many times). */
  onReceipt(receipt: DeliveryReceipt): Promise<void>;
  helpText?: string;
  now?: () => number;
  /** Inbound message ids already processed (default: this process's memory only). */
  replays?: ReplayLedger;
}

export const DEFAULT_HELP_TEXT = 'Job alerts. Reply STOP to unsubscribe, START to resubscribe. Msg & data rates may apply.';
export const STOP_CONFIRMATION = 'You are unsubscribed and will receive no more messages from us. Reply START to resubscribe.';
export const START_CONFIRMATION = 'You are resubscribed and will receive job alerts again. Reply STOP to unsubscribe, HELP for help.';

/** A Twilio inbound post carries ~20 params and up to 1600 characters of percent-encoded text: more than the lead limit. */
const WEBHOOK_BODY_LIMIT = 64 * 1024;

/** Every provider status we understand, mapped to ours (Twilio's vocabulary plus our own five). A Map: "constructor" is not a status. */
const STATUS_MAP: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['queued', 'queued'],
  ['accepted', 'queued'],
  ['scheduled', 'queued'],
  ['sending', 'sent'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'delivered'],
  ['failed', 'failed'],
  ['undelivered', 'undelivered'],
]);

type BodyFormat = 'form' | 'json' | 'xml';
/** What this plugin's content-type parsers put in req.body: the raw string, parsed later (after the signature check). */
interface WebhookBody {
  format: BodyFormat;
  raw: string;
}

interface RouteShape {
  Params: { provider: string };
  Body: WebhookBody | undefined;
}

const FORMAT_OF: Record<SmsProviderWebhookConfig['kind'], BodyFormat> = { twilio: 'form', json: 'json', xml: 'xml' };
const MEDIA_TYPE_OF: Record<BodyFormat, string> = { form: 'application/x-www-form-urlencoded', json: 'application/json', xml: 'application/xml' };

/** A refusal with the status to answer and, for 400s, the field at fault. */
class WebhookError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const missing = (field: string) => new WebhookError(400, 'missing_field', `missing field: ${field}`, field);
const invalid = (field: string, why: string) => new WebhookError(400, 'invalid_field', `invalid field ${field}: ${why}`, field);

export const smsWebhooksPlugin: FastifyPluginAsync<SmsWebhookDeps> = async (app: FastifyInstance, deps: SmsWebhookDeps) => {
  const now = deps.now ?? Date.now;
  const replays = deps.replays ?? memoryLedger();
  const helpText = deps.helpText ?? DEFAULT_HELP_TEXT;
  const providerOf = (name: string): SmsProviderWebhookConfig | undefined =>
    Object.hasOwn(deps.providers, name) ? deps.providers[name] : undefined;

  for (const [name, p] of Object.entries(deps.providers)) {
    const secret = p.kind === 'twilio' ? p.authToken : p.webhookSecret;
    if (!secret) app.log.warn({ provider: name, kind: p.kind }, `SMS provider ${name} has no ${p.kind === 'twilio' ? 'authToken' : 'webhookSecret'}: its webhooks will all be refused (403)`);
  }

  // ---- parsers: this context only --------------------------------------------------------------
  const keepRaw = (format: BodyFormat) => (_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: WebhookBody) => void) =>
    done(null, { format, raw: typeof body === 'string' ? body : body.toString('utf8') });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, keepRaw('form'));
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'string' }, keepRaw('xml'));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, keepRaw('json'));

  // ---- errors: answered in the provider's own format -------------------------------------------
  app.setErrorHandler((err: FastifyError | WebhookError, req, reply) => {
    const kind = providerOf((req.params as { provider?: string } | undefined)?.provider ?? '')?.kind;
    if (err instanceof WebhookError) return sendError(reply, kind, err);
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const expected = kind ? MEDIA_TYPE_OF[FORMAT_OF[kind]] : 'the provider\'s content type';
      return sendError(reply, kind, new WebhookError(415, 'unsupported_media_type', `send ${expected}`));
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, kind, new WebhookError(413, 'body_too_large', err.message));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, kind, new WebhookError(err.statusCode, err.code ?? 'bad_request', err.message));
    }
    req.log.error({ err }, 'sms webhook failed');
    return sendError(reply, kind, new WebhookError(503, 'unavailable', 'not recorded, retry later'));
  });

  // Unknown provider before the body is even read.
  app.addHook<{ Params: { provider: string } }>('onRequest', async (req, reply) => {
    if (!providerOf(req.params.provider)) {
      return reply.code(404).send({ error: 'unknown_provider', message: `no SMS provider "${req.params.provider}"` });
    }
  });

  /** Content type, then signature (and its timestamp): the body comes back only when it may be read. */
  function authenticate(req: FastifyRequest<RouteShape>, p: SmsProviderWebhookConfig, name: string): { raw: string; timestamp: string } {
    const body = req.body;
    const format = FORMAT_OF[p.kind];
    if (!body || body.format !== format) throw new WebhookError(415, 'unsupported_media_type', `send ${MEDIA_TYPE_OF[format]}`);
    const ok =
      p.kind === 'twilio'
        ? twilioUrlCandidates(publicUrl(req)).some((url) =>
            verifyTwilioSignature({ authToken: p.authToken ?? '', url, params: new URLSearchParams(body.raw), signature: header(req, 'x-twilio-signature') }),
          )
        : verifyHmacSignature({ secret: p.webhookSecret ?? '', rawBody: body.raw, signature: header(req, HMAC_SIGNATURE_HEADER), timestamp: header(req, HMAC_TIMESTAMP_HEADER) ?? '' });
    if (!ok) {
      req.log.warn({ provider: name, url: req.url }, 'sms webhook refused: bad or missing signature');
      throw new WebhookError(403, 'forbidden', 'bad or missing signature');
    }
    const timestamp = header(req, HMAC_TIMESTAMP_HEADER) ?? '';
    // Signed, but when? Outside the window it is a replay of a captured request (or a clock off by minutes).
    if (p.kind !== 'twilio' && !freshTimestamp(timestamp, now())) {
      req.log.warn({ provider: name, url: req.url }, 'sms webhook refused: signed timestamp outside ±5 minutes');
      throw new WebhookError(403, 'stale_signature', `${HMAC_TIMESTAMP_HEADER} missing or more than 5 minutes from now`);
    }
    return { raw: body.raw, timestamp };
  }

  function publicUrl(req: FastifyRequest): string {
    const base = deps.publicBaseUrl ? withoutTrailingSlashes(deps.publicBaseUrl) : `${req.protocol}://${req.host}`;
    return base + req.url;
  }

  const routeOpts = { bodyLimit: WEBHOOK_BODY_LIMIT };
  const inboundOpts = { ...routeOpts, schema: webhookSchema('An inbound SMS reply (STOP, START, HELP, …)', { 200: inboundAnswer }) };
  const statusOpts = { ...routeOpts, schema: webhookSchema('A delivery receipt', { 204: { description: 'Recorded (once per status, however often repeated).', type: 'null' } }) };

  app.post<RouteShape>('/v1/webhooks/sms/:provider/inbound', inboundOpts, async (req, reply) => {
    const name = req.params.provider;
    const p = providerOf(name)!; // the onRequest hook answered 404 otherwise
    const { raw, timestamp } = authenticate(req, p, name);
    const fields = readInbound(p.kind, raw);
    const text = fields.text;
    const intent = classifyReply(text);
    const inbound: InboundReply = {
      provider: name,
      from: toE164(fields.from, p.kind === 'twilio' ? undefined : p.defaultCountry, p.kind === 'twilio' ? 'From' : 'from'),
      to: fields.to,
      text,
      intent,
      providerMessageId: fields.id,
      receivedAt: now(),
    };
    const messageId = fields.id ?? derivedMessageId(timestamp, raw);
    let replayed: boolean;
    try {
      replayed = await replays.seen(name, messageId);
    } catch (err) {
      req.log.error({ err, provider: name }, 'inbound SMS reply: replay ledger not readable');
      throw new WebhookError(503, 'unavailable', 'reply not recorded, retry later');
    }
    if (replayed) {
      req.log.warn({ provider: name, providerMessageId: messageId, intent }, 'inbound SMS reply already processed: answered, not applied again');
    } else {
      try {
        await deps.onReply(inbound);
        await replays.remember(name, messageId, inbound.receivedAt);
      } catch (err) {
        req.log.error({ err, provider: name, providerMessageId: inbound.providerMessageId }, 'inbound SMS reply not recorded');
        throw new WebhookError(503, 'unavailable', 'reply not recorded, retry later');
      }
    }

    if (p.kind === 'twilio') {
      const message = intent === 'HELP' ? helpText : intent === 'STOP' ? STOP_CONFIRMATION : intent === 'START' ? START_CONFIRMATION : null;
      const twiml = message === null ? '<Response/>' : `<Response><Message>${escapeXml(message)}</Message></Response>`;
      return reply.code(200).type('text/xml; charset=utf-8').send(`<?xml version="1.0" encoding="UTF-8"?>${twiml}`);
    }
    if (p.kind === 'xml') {
      return reply
        .code(200)
        .type('application/xml; charset=utf-8')
        .send(`<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status><intent>${intent}</intent></response>`);
    }
    return reply.code(200).send({ ok: true, intent });
  });

  app.post<RouteShape>('/v1/webhooks/sms/:provider/status', statusOpts, async (req, reply) => {
    const name = req.params.provider;
    const p = providerOf(name)!;
    const { raw } = authenticate(req, p, name);
    const fields = readReceipt(p.kind, raw);
    const status = STATUS_MAP.get(fields.status.trim().toLowerCase());
    if (!status) throw invalid(fields.statusField, `unknown status "${fields.status}"`);
    const receipt: DeliveryReceipt = { provider: name, providerMessageId: fields.id, status, errorCode: fields.errorCode, at: now() };
    try {
      await deps.onReceipt(receipt);
    } catch (err) {
      req.log.error({ err, provider: name, providerMessageId: receipt.providerMessageId }, 'delivery receipt not recorded');
      throw new WebhookError(503, 'unavailable', 'receipt not recorded, retry later');
    }
    return reply.code(204).send();
  });
};

/**
 * The provider entries of config/router.yaml (sms.providers) as webhook configs: twilio's
 * authToken, json/xml's webhookSecret; a provider serving one market reads national numbers in it.
 */
export function smsWebhookProvidersFromConfig(providers: Record<string, SmsProviderConfig>): Record<string, SmsProviderWebhookConfig> {
  const out: Record<string, SmsProviderWebhookConfig> = {};
  for (const [name, cfg] of Object.entries(providers)) {
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const only = cfg.markets.length === 1 ? cfg.markets[0] : undefined;
    out[name] = {
      kind: cfg.kind,
      ...(cfg.kind === 'twilio' ? { authToken: str(cfg.authToken) } : { webhookSecret: str(cfg.webhookSecret) }),
      ...(only ? { defaultCountry: only === 'UK' ? 'GB' : 'US' } : {}),
    };
  }
  return out;
}

// ---- reading the bodies -----------------------------------------------------------------------

interface InboundFields {
  from: string;
  to: string | null;
  text: string;
  id: string | null;
}

interface ReceiptFields {
  id: string;
  status: string;
  /** The field name to blame for an unknown status, as the provider spells it. */
  statusField: string;
  errorCode: string | null;
}

/** Field reader over one provider format; the names are the provider's own, so a 400 names what it sent. */
interface FieldSource {
  /** undefined when absent; throws invalid() when present but not text. */
  get(name: string): string | undefined;
}

function fieldsOf(kind: SmsProviderWebhookConfig['kind'], raw: string, xmlRoot: string): FieldSource {
  if (kind === 'twilio') {
    const form = new URLSearchParams(raw);
    return { get: (n) => form.get(n) ?? undefined };
  }
  const obj = kind === 'json' ? parseJsonObject(raw) : parseXmlRoot(raw, xmlRoot);
  return {
    get(n) {
      const v = Object.hasOwn(obj, n) ? obj[n] : undefined;
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      // A JSON provider may send numeric ids and error codes.
      if (kind === 'json' && typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw invalid(n, kind === 'xml' ? 'must be a single text element' : 'must be a string');
    },
  };
}

const required = (src: FieldSource, name: string, opts: { allowEmpty?: boolean } = {}): string => {
  const v = src.get(name);
  if (v === undefined || (!opts.allowEmpty && v.trim() === '')) throw missing(name);
  return v;
};
const optional = (src: FieldSource, name: string): string | null => {
  const v = src.get(name)?.trim();
  return v ? v : null;
};

/** Field names per format: Twilio's own, and the json/xml providers' (see the header comment). */
const INBOUND_FIELDS = {
  twilio: { from: 'From', to: 'To', text: 'Body', id: 'MessageSid' },
  generic: { from: 'from', to: 'to', text: 'text', id: 'id' },
} as const;
const RECEIPT_FIELDS = {
  twilio: { id: 'MessageSid', status: 'MessageStatus', errorCode: 'ErrorCode' },
  generic: { id: 'id', status: 'status', errorCode: 'errorCode' },
} as const;

function readInbound(kind: SmsProviderWebhookConfig['kind'], raw: string): InboundFields {
  const src = fieldsOf(kind, raw, 'inbound');
  const f = INBOUND_FIELDS[kind === 'twilio' ? 'twilio' : 'generic'];
  // The text may be empty (a picture-only message) but must be there; from is who opts in or out.
  return { from: required(src, f.from), to: optional(src, f.to), text: required(src, f.text, { allowEmpty: true }), id: optional(src, f.id) };
}

function readReceipt(kind: SmsProviderWebhookConfig['kind'], raw: string): ReceiptFields {
  const src = fieldsOf(kind, raw, 'receipt');
  const f = RECEIPT_FIELDS[kind === 'twilio' ? 'twilio' : 'generic'];
  return { id: required(src, f.id).trim(), status: required(src, f.status), statusField: f.status, errorCode: optional(src, f.errorCode) };
}

function parseJsonObject(raw: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new WebhookError(400, 'invalid_json', `body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, '(body)');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WebhookError(400, 'invalid_json', 'body must be a JSON object', '(body)');
  return v as Record<string, unknown>;
}

// Same options as the adapter's codec (xml-codec.ts): values stay strings ("00123" is not 123).
const xmlParser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true });

function parseXmlRoot(raw: string, root: string): Record<string, unknown> {
  const notDoc = new WebhookError(400, 'invalid_xml', `body is not an <${root}> document`, '(body)');
  if (XMLValidator.validate(raw) !== true) throw notDoc;
  let doc: unknown;
  try {
    doc = xmlParser.parse(raw);
  } catch {
    throw notDoc;
  }
  const el = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[root] : undefined;
  if (el === '') return {}; // <inbound/>: no children, each field then reported missing
  if (typeof el !== 'object' || el === null || Array.isArray(el)) throw notDoc;
  return el as Record<string, unknown>;
}

/**
 * The replier's number in E.164. Only a *possible* number is required, not a valid one: metadata
 * lags new number ranges, and refusing a STOP over that is the costly mistake. A number without
 * + is read in the provider's country, then as international digits ("447700900123", as many
 * providers send MSISDNs); a reading that is valid beats one that is merely possible.
 */
function toE164(raw: string, defaultCountry: CountryCode | undefined, field: string): string {
  const s = raw.trim().replace(/^tel:/i, '');
  const candidates = s.startsWith('+')
    ? [parsePhoneNumberFromString(s)]
    : [
        defaultCountry ? parsePhoneNumberFromString(s, defaultCountry) : undefined,
        /^[1-9][\d\s().-]{6,}$/.test(s) ? parsePhoneNumberFromString(`+${s.replace(/\D/g, '')}`) : undefined,
      ];
  const hit = candidates.find((n) => n?.isValid()) ?? candidates.find((n) => n?.isPossible());
  if (!hit) throw invalid(field, `"${raw}" is not a phone number`);
  return hit.number;
}

// ---- small helpers ----------------------------------------------------------------------------

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

function sendError(reply: FastifyReply, kind: SmsProviderWebhookConfig['kind'] | undefined, err: WebhookError): FastifyReply {
  reply.code(err.statusCode);
  if (kind === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(buildResponseXml({ status: 'ERROR', code: err.code, error: err.message }));
  }
  return reply.send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
}
