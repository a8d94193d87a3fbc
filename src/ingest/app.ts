/**
 * Builds the fastify app: body limits, Ajv with every error reported, the OpenAPI document
 * (@fastify/swagger, from the route schemas, at GET /openapi.json), the per-principal rate limit
 * (@fastify/rate-limit) and one error handler that turns validation, size, media-type, rate and
 * overload problems into documented answers ({error, message}) naming the field.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { metrics } from '../metrics.js';
import type { Logger } from 'pino';
import { OverloadedError } from '../producers/lead-batcher.js';
import type { RateLimit } from '../security/security-config.js';
import { principalKey } from './auth.js';
import { ingestPlugin, type IngestDeps } from './ingest-plugin.js';
import { PATTERN_MESSAGES } from './lead-schema.js';
import { moneyPlugin } from './money-plugin.js';
import { swaggerOptions } from './openapi.js';
import { smsWebhooksPlugin, type SmsWebhookDeps } from './sms-webhooks-plugin.js';

export interface AppOptions {
  maxBodyBytes: number;
  logger?: Logger | false;
  /** Per principal unless its vendor has its own (config or the vendors collection). */
  rateLimit?: RateLimit;
}

const DEFAULT_RATE_LIMIT: RateLimit = { max: 2000, windowMs: 1000 };

class RateLimited extends Error {
  readonly statusCode = 429;
  readonly code = 'rate_limited';
}

export async function buildIngestApp(deps: IngestDeps, opts: AppOptions, smsWebhooks?: SmsWebhookDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (opts.logger || undefined) as FastifyBaseLogger | undefined,
    bodyLimit: opts.maxBodyBytes,
    ajv: { customOptions: { allErrors: true, removeAdditional: true, coerceTypes: false } },
    // The router's own refusals (a path parameter over 100 characters, a malformed URL) in the
    // documented error body too, without echoing the URL back.
    frameworkErrors: (err, _req, reply) => {
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      return (reply as FastifyReply).code(status).send({ error: status === 414 ? 'uri_too_long' : 'bad_request', message: status === 414 ? 'a path parameter is too long' : 'malformed request URL' });
    },
  });
  const limitOf = (req: FastifyRequest): RateLimit => (req.principal?.kind === 'vendor' && req.principal.rateLimit) || opts.rateLimit || DEFAULT_RATE_LIMIT;

  // Leads are JSON only: fastify's built-in text/plain parser would turn a plain-text body into a
  // confusing validation error; without it the body is refused with 415.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  // Every answer to a lead POST by status: 202s, and the 4xx/429/503 an operator must see.
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.routeOptions.url === '/v1/leads') metrics.ingestAnswers.inc({ status: String(reply.statusCode) });
  });

  await app.register(swagger, swaggerOptions());
  // Routes opt in (config.rateLimit); the hook runs after the route's own onRequest (the
  // credential), so requests count against the vendor, never against a shared IP.
  await app.register(rateLimit, {
    global: false,
    keyGenerator: principalKey,
    max: (req) => limitOf(req).max,
    timeWindow: (req) => limitOf(req).windowMs,
    errorResponseBuilder: (_req, ctx) => new RateLimited(`over the rate limit of ${ctx.max} requests; retry after ${ctx.after}`),
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const fields = err.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string }).missingProperty;
        const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        const field = missing ? (base ? `${base}.${missing}` : missing) : base || (err.validationContext === 'body' ? '(body)' : `(${err.validationContext ?? 'request'})`);
        // A failed pattern is explained in words: a vendor cannot act on a raw regular expression.
        const pattern = v.keyword === 'pattern' ? (v.params as { pattern?: string }).pattern : undefined;
        return { field, message: (pattern && PATTERN_MESSAGES[pattern]) || v.message || 'invalid' };
      });
      // if/then wrappers add a second, vaguer error ("must match then schema"): keep the useful ones.
      const useful = fields.filter((f) => !/must match "(then|else)" schema/.test(f.message));
      return reply.code(400).send({
        error: err.validationContext === 'body' ? 'invalid_lead' : 'invalid_request',
        message: `invalid fields: ${[...new Set(useful.map((f) => f.field))].join(', ')}`,
        fields: useful,
      });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send({ error: 'body_too_large', message: `body larger than ${opts.maxBodyBytes} bytes` });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.code(415).send({ error: 'unsupported_media_type', message: 'send the lead as application/json' });
    }
    if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.code(400).send({ error: 'invalid_json', message: `body is not valid JSON: ${err.message}` });
    }
    if (err instanceof OverloadedError) {
      return reply.code(503).header('retry-after', String(err.overload.retryAfterS)).send({ error: 'overloaded', message: 'lead not accepted: ingest is overloaded, retry later' });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? 'bad_request', message: err.message });
    }
    req.log.error({ err }, 'ingest failed');
    // Kafka did not acknowledge: the vendor must retry; the lead was not accepted.
    return reply.code(503).header('retry-after', '1').send({ error: 'unavailable', message: 'lead not accepted, retry later' });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(ingestPlugin, deps);
  if (deps.money) await app.register(moneyPlugin, { ...deps.money, ...(deps.now ? { now: deps.now } : {}) });
  // Registered plainly (encapsulated): its form/XML body parsers must not leak to /v1/leads.
  if (smsWebhooks) await app.register(smsWebhooksPlugin, smsWebhooks);
  return app;
}
