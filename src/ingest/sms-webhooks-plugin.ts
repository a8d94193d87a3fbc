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
 * This file holds the routes and what ties them together; the steps live next to it:
 *   sms-webhooks-auth.ts      content type, signature and timestamp checks (per provider kind)
 *   sms-webhooks-bodies.ts    the wire formats: reading a reply's or a receipt's fields
 *   sms-webhooks-errors.ts    refusals, answered in the provider's own format
 *   sms-webhooks-contract.ts  provider configs and the InboundReply / DeliveryReceipt handed on
 *   sms-webhooks-schema.ts    the OpenAPI description of both routes
 * Answers: Twilio gets TwiML; xml providers the XML adapter's <response> envelope,
 * <response><status>OK</status><intent>STOP</intent></response>, errors as
 * <response><status>ERROR</status><code/><error/></response>; json providers `{ok, intent}`.
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
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { classifyReply } from '../sinks/sms/reply-intent.js';
import { escapeXml } from '../sinks/sms/adapters/xml-codec.js';
import { authenticate, FORMAT_OF, MEDIA_TYPE_OF, type AuthContext, type BodyFormat, type RouteShape, type WebhookBody } from './sms-webhooks-auth.js';
import { readInbound, readReceipt, STATUS_MAP, toE164 } from './sms-webhooks-bodies.js';
import type { DeliveryReceipt, InboundReply, SmsProviderWebhookConfig } from './sms-webhooks-contract.js';
import { invalid, sendError, WebhookError } from './sms-webhooks-errors.js';
import { inboundAnswer, webhookSchema } from './sms-webhooks-schema.js';
import { derivedMessageId, memoryLedger, type ReplayLedger } from './webhook-replay.js';

// Callers (app.ts, roles.ts, the SMS sink's handlers, tests) import all of the webhooks from here.
export { smsWebhookProvidersFromConfig, type DeliveryReceipt, type DeliveryStatus, type InboundReply, type SmsProviderWebhookConfig } from './sms-webhooks-contract.js';
export { twilioUrlCandidates } from './sms-webhooks-auth.js';

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

export const smsWebhooksPlugin: FastifyPluginAsync<SmsWebhookDeps> = async (app: FastifyInstance, deps: SmsWebhookDeps) => {
  const now = deps.now ?? Date.now;
  const replays = deps.replays ?? memoryLedger();
  const helpText = deps.helpText ?? DEFAULT_HELP_TEXT;
  const authCtx: AuthContext = { now, publicBaseUrl: deps.publicBaseUrl };
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

  const routeOpts = { bodyLimit: WEBHOOK_BODY_LIMIT };
  const inboundOpts = { ...routeOpts, schema: webhookSchema('An inbound SMS reply (STOP, START, HELP, …)', { 200: inboundAnswer }) };
  const statusOpts = { ...routeOpts, schema: webhookSchema('A delivery receipt', { 204: { description: 'Recorded (once per status, however often repeated).', type: 'null' } }) };

  app.post<RouteShape>('/v1/webhooks/sms/:provider/inbound', inboundOpts, async (req, reply) => {
    const name = req.params.provider;
    const p = providerOf(name)!; // the onRequest hook answered 404 otherwise
    const { raw, timestamp } = authenticate(req, p, name, authCtx);
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
    const { raw } = authenticate(req, p, name, authCtx);
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
