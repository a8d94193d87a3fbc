/**
 * Builds the fastify app: body limits, Ajv with every error reported, and one error handler
 * that turns validation, size and media-type problems into clear 4xx answers naming the field.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ingestPlugin, type IngestDeps } from './ingest-plugin.js';
import { PATTERN_MESSAGES } from './lead-schema.js';
import { smsWebhooksPlugin, type SmsWebhookDeps } from './sms-webhooks-plugin.js';

export interface AppOptions {
  maxBodyBytes: number;
  logger?: Logger | false;
}

export async function buildIngestApp(deps: IngestDeps, opts: AppOptions, smsWebhooks?: SmsWebhookDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: (opts.logger || undefined) as FastifyBaseLogger | undefined,
    bodyLimit: opts.maxBodyBytes,
    ajv: { customOptions: { allErrors: true, removeAdditional: true, coerceTypes: false } },
  });

  // Leads are JSON only: fastify's built-in text/plain parser would turn a plain-text body into a
  // confusing validation error; without it the body is refused with 415.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      const fields = err.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string }).missingProperty;
        const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
        const field = missing ? (base ? `${base}.${missing}` : missing) : base || '(body)';
        // A failed pattern is explained in words: a vendor cannot act on a raw regular expression.
        const pattern = v.keyword === 'pattern' ? (v.params as { pattern?: string }).pattern : undefined;
        return { field, message: (pattern && PATTERN_MESSAGES[pattern]) || v.message || 'invalid' };
      });
      // if/then wrappers add a second, vaguer error ("must match then schema"): keep the useful ones.
      const useful = fields.filter((f) => !/must match "(then|else)" schema/.test(f.message));
      return reply.code(400).send({
        error: 'invalid_lead',
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
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ error: err.code ?? 'bad_request', message: err.message });
    }
    req.log.error({ err }, 'ingest failed');
    // Kafka did not acknowledge: the vendor must retry; the lead was not accepted.
    return reply.code(503).send({ error: 'unavailable', message: 'lead not accepted, retry later' });
  });

  await app.register(ingestPlugin, deps);
  // Registered plainly (encapsulated): its form/XML body parsers must not leak to /v1/leads.
  if (smsWebhooks) await app.register(smsWebhooksPlugin, smsWebhooks);
  return app;
}
