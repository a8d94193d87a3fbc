/**
 * The SMS webhooks' part of the OpenAPI contract (src/ingest/openapi.ts has the rest): every
 * status they answer, in the provider's own format. Bodies are described in words: they differ
 * per provider (form, JSON, XML) and are read raw for the signature, so no body schema is
 * applied to them.
 */
const errorJson = { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } };
/** Errors come in the provider's format: JSON, or the XML adapter's <response> envelope. */
const webhookError = (description: string) => ({ description, content: { 'application/json': { schema: errorJson }, 'application/xml': { schema: { type: 'string' } } } });
export const inboundAnswer = {
  description: 'Recorded (or a repeat of a message already recorded): TwiML for twilio, <response> for xml, JSON otherwise.',
  content: {
    'application/json': { schema: { type: 'object', required: ['ok', 'intent'], properties: { ok: { type: 'boolean' }, intent: { type: 'string' } } } },
    'text/xml': { schema: { type: 'string' } },
    'application/xml': { schema: { type: 'string' } },
  },
};

export function webhookSchema(summary: string, success: Record<number, unknown>) {
  return {
    summary,
    // Body formats differ per provider (form, JSON, XML) and are read raw for the signature: described in words.
    description: 'Signed by the provider: X-Twilio-Signature (twilio), or x-signature + x-signature-timestamp (json, xml; ±5 minutes).',
    security: [{ twilioSignature: [] }, { hmacSignature: [] }] as Record<string, string[]>[],
    params: { type: 'object', required: ['provider'], properties: { provider: { type: 'string', maxLength: 64 } } },
    response: {
      ...success,
      400: webhookError('Malformed body or missing field.'),
      403: webhookError('Bad, missing or stale signature.'),
      404: webhookError('No such provider.'),
      413: webhookError('Body too large.'),
      414: webhookError('Provider name too long.'),
      415: webhookError('Not the provider\'s content type.'),
      503: webhookError('Not recorded; the provider retries.'),
    },
  };
}

