/**
 * How the SMS webhooks refuse a request: a WebhookError carries the status and code to answer,
 * and sendError answers it in the provider's own format (the XML adapter's <response> envelope
 * for xml providers, JSON otherwise). Shared by the plugin, the signature check and the body
 * readers, each of which throws these.
 */
import type { FastifyReply } from 'fastify';
import { buildResponseXml } from '../sinks/sms/adapters/xml-codec.js';
import type { SmsProviderWebhookConfig } from './sms-webhooks-contract.js';

/** A refusal with the status to answer and, for 400s, the field at fault. */
export class WebhookError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const missing = (field: string) => new WebhookError(400, 'missing_field', `missing field: ${field}`, field);
export const invalid = (field: string, why: string) => new WebhookError(400, 'invalid_field', `invalid field ${field}: ${why}`, field);

export function sendError(reply: FastifyReply, kind: SmsProviderWebhookConfig['kind'] | undefined, err: WebhookError): FastifyReply {
  reply.code(err.statusCode);
  if (kind === 'xml') {
    return reply.type('application/xml; charset=utf-8').send(buildResponseXml({ status: 'ERROR', code: err.code, error: err.message }));
  }
  return reply.send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
}
