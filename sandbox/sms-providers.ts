/**
 * Sandbox SMS providers speaking exactly the wire formats of src/sinks/sms/adapters: a
 * Twilio-compatible Messages API (sms-twilio.ts), a generic JSON API and an XML API. Built on
 * startFaultServer, so they record every request and can be switched to
 * refuse/down/slow/error500/malformed; lookups go through the same fault modes as sends.
 *
 * Like real providers they check credentials (401), required fields and number format (400), and
 * do not de-duplicate: every accepted message is a text, and a second text to the same phone is
 * recorded as `duplicate: true` (sms-sent.ts; `idempotency: true` for a provider that does).
 *
 *   JSON  POST /v1/messages (Bearer, Idempotency-Key kept as the reference) → 202 {id, status: "accepted"}
 *         GET  /v1/messages?reference=<key> → {messages: [{id, to, status, createdAt}]}
 *   XML   POST /api/sms.xml (X-Api-Key, <message>…<reference/></message>) → <response><status>OK</status><messageId/></response>
 *         GET  /api/sms.xml?reference=<key> → <response><status>OK</status><messages><message>…</message></messages></response>
 */
import { randomBytes } from 'node:crypto';
import { XML_API_KEY_HEADER } from '../src/sinks/sms/adapters/xml.js';
import { buildLookupXml, buildResponseXml, parseMessageXml } from '../src/sinks/sms/adapters/xml-codec.js';
import { startFaultServer, type Answer } from './fault-server.js';
import { E164, header, leadIdFromIdempotencyKey, SentLog, type SmsSandbox, type SmsSandboxOptions } from './sms-sent.js';

export { startTwilioSandbox, type ReceiptAttempt, type TwilioSandbox, type TwilioSandboxOptions } from './sms-twilio.js';
export { leadIdFromIdempotencyKey, type SentText, type SmsSandbox, type SmsSandboxOptions, type SmsSandboxStats } from './sms-sent.js';

// ---- generic JSON -----------------------------------------------------------------------------

export interface JsonSmsSandboxOptions extends SmsSandboxOptions {
  apiKey: string;
}

function jsonError(status: number, error: string, message: string, leadId: string | null = null): Answer {
  return { status, leadId, body: JSON.stringify({ error, message }) };
}

export async function startJsonSmsSandbox(opts: JsonSmsSandboxOptions): Promise<SmsSandbox> {
  const log = new SentLog(opts.idempotency ?? false);
  const server = await startFaultServer({
    name: 'sms-json',
    port: opts.port,
    host: opts.host,
    control: log.controlRoutes(),
    handler: (req) => {
      if (req.path !== '/v1/messages' || (req.method !== 'POST' && req.method !== 'GET')) return jsonError(404, 'not_found', `no route ${req.method} ${req.path}`);
      if (header(req.headers, 'authorization') !== `Bearer ${opts.apiKey}`) return jsonError(401, 'unauthorized', 'invalid API key');

      if (req.method === 'GET') {
        // Lookups are recorded without a lead id: a record with one means a text was asked for.
        const reference = req.query.get('reference');
        if (!reference) return jsonError(400, 'missing_field', '"reference" query parameter is required');
        const messages = log.byReference(reference).map((t) => ({ id: t.id, to: t.to, status: t.status, createdAt: new Date(t.at).toISOString() }));
        return { status: 200, leadId: null, body: JSON.stringify({ messages }) };
      }

      const key = header(req.headers, 'idempotency-key') ?? null;
      const leadId = leadIdFromIdempotencyKey(key);
      let payload: unknown;
      try {
        payload = JSON.parse(req.body);
      } catch {
        return jsonError(400, 'invalid_json', 'body is not JSON', leadId);
      }
      const p = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
      const str = (v: unknown): string => (typeof v === 'string' ? v : '');
      if (!str(p.to)) return jsonError(400, 'missing_field', '"to" is required', leadId);
      if (!E164.test(str(p.to))) return jsonError(400, 'invalid_number', `"to" ${str(p.to)} is not E.164`, leadId);
      if (!str(p.from)) return jsonError(400, 'missing_field', '"from" is required', leadId);
      if (!str(p.text)) return jsonError(400, 'missing_field', '"text" is required', leadId);

      const { text, duplicate, replayed } = log.accept(
        { key, to: str(p.to), from: str(p.from), body: str(p.text), status: 'accepted' },
        () => `msg_${randomBytes(12).toString('hex')}`,
      );
      return { status: 202, leadId, duplicate, replayed, body: JSON.stringify({ id: text.id, status: 'accepted' }) };
    },
  });
  return log.attach(server);
}

// ---- XML --------------------------------------------------------------------------------------

export interface XmlSmsSandboxOptions extends SmsSandboxOptions {
  apiKey: string;
}

function xmlError(status: number, code: string, error: string, leadId: string | null = null): Answer {
  return { status, leadId, contentType: 'application/xml', body: buildResponseXml({ status: 'ERROR', code, error }) };
}

export async function startXmlSmsSandbox(opts: XmlSmsSandboxOptions): Promise<SmsSandbox> {
  const log = new SentLog(opts.idempotency ?? false);
  const server = await startFaultServer({
    name: 'sms-xml',
    port: opts.port,
    host: opts.host,
    // Cut off mid-document, as a dropped connection behind a proxy would leave it.
    malformedBody: '<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status><messageId>',
    control: log.controlRoutes(),
    handler: (req) => {
      if (req.path !== '/api/sms.xml' || (req.method !== 'POST' && req.method !== 'GET')) return xmlError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`);
      if (header(req.headers, XML_API_KEY_HEADER) !== opts.apiKey) return xmlError(401, 'AUTH', 'invalid API key');

      if (req.method === 'GET') {
        const reference = req.query.get('reference');
        if (!reference) return xmlError(400, 'MISSING_FIELD', 'reference query parameter is required');
        const body = buildLookupXml(log.byReference(reference).map((t) => ({ messageId: t.id, to: t.to, status: t.status })));
        return { status: 200, leadId: null, contentType: 'application/xml', body };
      }

      const msg = parseMessageXml(req.body);
      if (!msg) return xmlError(400, 'MALFORMED', 'body is not a <message> document');
      const key = msg.reference || null;
      const leadId = leadIdFromIdempotencyKey(key);
      for (const field of ['to', 'from', 'text'] as const) {
        if (!msg[field]) return xmlError(400, 'MISSING_FIELD', `<${field}> is required`, leadId);
      }
      if (!E164.test(msg.to)) return xmlError(400, 'INVALID_NUMBER', `<to> ${msg.to} is not E.164`, leadId);

      const { text, duplicate, replayed } = log.accept(
        { key, to: msg.to, from: msg.from, body: msg.text, status: 'queued' },
        () => `X${randomBytes(10).toString('hex').toUpperCase()}`,
      );
      return { status: 200, leadId, duplicate, replayed, contentType: 'application/xml', body: buildResponseXml({ status: 'OK', messageId: text.id }) };
    },
  });
  return log.attach(server);
}
