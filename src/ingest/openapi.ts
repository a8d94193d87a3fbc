/**
 * The HTTP contract's shared pieces: the error body every refusal uses, the response sets each
 * route documents, and the document @fastify/swagger builds from the route schemas and serves at
 * GET /openapi.json. Every status a route can answer is listed, so a contract fuzzer
 * (scripts/schemathesis.sh) can hold each answer to the schema.
 */
import type { SwaggerOptions } from '@fastify/swagger';

export const errorBody = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Stable code: invalid_lead, invalid_json, unauthenticated, forbidden, rate_limited, overloaded, unavailable, …' },
    message: { type: 'string' },
    fields: {
      type: 'array',
      description: 'invalid_lead: every offending field at once.',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    field: { type: 'string' },
  },
} as const;

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed; `fields` names every offending field.',
  401: 'No credential: send `x-api-key` (vendors) or `Authorization: Bearer` (operators).',
  403: 'The credential is not recognised, revoked, or not allowed here.',
  404: 'Not found (or not yours).',
  409: 'The request conflicts with the state of the resource (e.g. the return window of a sale has closed).',
  413: 'The body is larger than the limit.',
  414: 'A path parameter is too long.',
  415: 'Wrong content type.',
  429: 'Over this vendor\'s rate limit; `Retry-After` says when to try again.',
  503: 'Not accepted right now (Kafka did not acknowledge, overload, credentials loading); `Retry-After` says when to retry. Nothing was kept: retrying is safe.',
};

/** Response schemas for these error statuses, each with the error body. */
export function errorResponses(...codes: number[]): Record<number, unknown> {
  return Object.fromEntries(codes.map((c) => [c, { description: DESCRIPTIONS[c] ?? 'Error.', ...errorBody }]));
}

type Security = Record<string, string[]>[];
export const VENDOR_SECURITY: Security = [{ vendorKey: [] }];
export const OPERATOR_SECURITY: Security = [{ operatorToken: [] }];
export const EITHER_SECURITY: Security = [{ vendorKey: [] }, { operatorToken: [] }];
/** No credential needed, one accepted (OpenAPI: the empty requirement means "none"). */
export const OPTIONAL_OPERATOR: Security = [{}, { operatorToken: [] }];

export const historyBody = {
  type: 'object',
  required: ['leadId', 'events'],
  properties: {
    leadId: { type: 'string' },
    receivedAt: { type: 'string', format: 'date-time' },
    vendor: { type: 'string' },
    source: { type: 'string' },
    country: { type: 'string' },
    vendorLeadId: { type: 'string' },
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['eventId', 'type', 'at', 'gapMs', 'stage'],
        properties: {
          eventId: { type: 'string' },
          type: { type: 'string' },
          at: { type: 'string', format: 'date-time' },
          gapMs: { type: ['number', 'null'] },
          stage: { type: 'string' },
          destination: { type: 'string' },
          attempt: { type: 'integer' },
          detail: { type: 'string' },
        },
      },
    },
  },
} as const;

export function swaggerOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'lead-router ingest',
        version: '1',
        description: 'Vendors POST leads; operators read their history. See the README\'s Security section for keys, limits and signatures.',
      },
      components: {
        securitySchemes: {
          vendorKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A vendor API key, lr_<keyId>_<secret>. The lead\'s vendor is the key\'s.' },
          operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token, lro_<id>_<secret>: history of any lead, readiness details.' },
          buyerKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A buyer key, lrb_<keyId>_<secret> (security.buyers): a buyer returns the leads it bought.' },
          twilioSignature: { type: 'apiKey', in: 'header', name: 'x-twilio-signature', description: 'Twilio\'s request signature (SMS webhooks).' },
          hmacSignature: { type: 'apiKey', in: 'header', name: 'x-signature', description: 'sha256=<hex> HMAC of "<x-signature-timestamp>.<body>" (json/xml SMS providers).' },
        },
      },
    },
  };
}
