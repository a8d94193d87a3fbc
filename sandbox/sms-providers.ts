/**
 * Sandbox SMS providers speaking exactly the wire formats of src/sinks/sms/adapters: a
 * Twilio-compatible Messages API, a generic JSON API and an XML API. Built on startFaultServer,
 * so they record every request and can be switched to down/slow/error500/malformed.
 *
 * Like real providers they check credentials (401), required fields and number format (400),
 * and de-duplicate on the idempotency key: a repeated key is answered with the original message
 * id and nothing new is "sent"; the record marks it `duplicate: true`. That is what lets a test
 * prove a redelivered Kafka message did not text anyone twice.
 *
 * The Twilio sandbox can also POST a signed delivery receipt to the message's StatusCallback,
 * off by default so each test decides (setDeliveryReceipts).
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { request } from 'undici';
import { signTwilio } from '../src/sinks/sms/signature.js';
import { TWILIO_IDEMPOTENCY_HEADER } from '../src/sinks/sms/adapters/twilio.js';
import { XML_API_KEY_HEADER } from '../src/sinks/sms/adapters/xml.js';
import { buildResponseXml, parseMessageXml } from '../src/sinks/sms/adapters/xml-codec.js';
import { startFaultServer, type Answer, type FaultServer } from './fault-server.js';

const E164 = /^\+[1-9]\d{6,14}$/;

/** The idempotency key is `${leadId}:${destination}`; the lead id is what tests look records up by. */
export function leadIdFromIdempotencyKey(key: string | undefined): string | null {
  if (!key) return null;
  const i = key.indexOf(':');
  return i > 0 ? key.slice(0, i) : key;
}

/** Remembers the message id given to each idempotency key, as a provider does for its retention window. */
class IdempotencyStore {
  private readonly ids = new Map<string, string>();
  /** Returns the id already given to key, or gives it `fresh()`; requests without a key are never de-duplicated. */
  claim(key: string | undefined, fresh: () => string): { id: string; duplicate: boolean } {
    if (!key) return { id: fresh(), duplicate: false };
    const seen = this.ids.get(key);
    if (seen) return { id: seen, duplicate: true };
    const id = fresh();
    this.ids.set(key, id);
    return { id, duplicate: false };
  }
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

// ---- Twilio-compatible ------------------------------------------------------------------------

export interface TwilioSandboxOptions {
  port: number;
  host?: string;
  accountSid: string;
  authToken: string;
  /** POST a delivery receipt to StatusCallback after each new message. Default false. */
  deliveryReceipts?: boolean;
  /** Delay before the receipt is sent. Default 50 ms. */
  receiptDelayMs?: number;
}

export interface ReceiptAttempt {
  url: string;
  params: Record<string, string>;
  signature: string;
  /** HTTP status the callback answered, or null when it could not be reached. */
  status: number | null;
  error?: string;
}

export interface TwilioSandbox extends FaultServer {
  setDeliveryReceipts(on: boolean, delayMs?: number): void;
  /** Delivery receipts attempted, in order. */
  receipts: ReceiptAttempt[];
}

function twilioError(status: number, code: number, message: string, leadId: string | null = null): Answer {
  return {
    status,
    leadId,
    body: JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
  };
}

export async function startTwilioSandbox(opts: TwilioSandboxOptions): Promise<TwilioSandbox> {
  const store = new IdempotencyStore();
  const receipts: ReceiptAttempt[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let receiptsOn = opts.deliveryReceipts ?? false;
  let receiptDelayMs = opts.receiptDelayMs ?? 50;
  const expectedAuth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const messagesPath = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

  function scheduleReceipt(url: string, params: Record<string, string>): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      const signature = signTwilio({ authToken: opts.authToken, url, params });
      const attempt: ReceiptAttempt = { url, params, signature, status: null };
      receipts.push(attempt);
      const p = request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        body: new URLSearchParams(params).toString(),
        headersTimeout: 5_000,
        bodyTimeout: 5_000,
      })
        .then(async (res) => {
          attempt.status = res.statusCode;
          await res.body.dump();
        })
        .catch((err: unknown) => {
          attempt.error = err instanceof Error ? err.message : String(err);
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }, receiptDelayMs);
    timers.add(timer);
  }

  const server = await startFaultServer({
    name: 'sms-twilio',
    port: opts.port,
    host: opts.host,
    // Valid JSON that does not validate (no sid): the adapter must check the answer, not just parse it.
    malformedBody: '{"status":"queued","sid":null}',
    handler: (req) => {
      const m = messagesPath.exec(req.path);
      if (req.method !== 'POST' || !m) return twilioError(404, 20404, 'The requested resource was not found');
      if (header(req.headers, 'authorization') !== expectedAuth) return twilioError(401, 20003, 'Authenticate');
      if (decodeURIComponent(m[1] ?? '') !== opts.accountSid) return twilioError(404, 20404, 'The requested resource was not found');

      const key = header(req.headers, TWILIO_IDEMPOTENCY_HEADER);
      const leadId = leadIdFromIdempotencyKey(key);
      const form = new URLSearchParams(req.body);
      const to = form.get('To') ?? '';
      const from = form.get('From') ?? '';
      const body = form.get('Body') ?? '';
      if (!to) return twilioError(400, 21604, "A 'To' phone number is required.", leadId);
      if (!E164.test(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`, leadId);
      if (!from) return twilioError(400, 21603, "A 'From' phone number is required.", leadId);
      if (!body) return twilioError(400, 21602, 'Message body is required.', leadId);
      if (body.length > 1600) return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.', leadId);

      const { id, duplicate } = store.claim(key, () => `SM${randomBytes(16).toString('hex')}`);
      const callback = form.get('StatusCallback');
      if (receiptsOn && callback && !duplicate) {
        scheduleReceipt(callback, {
          AccountSid: opts.accountSid,
          ApiVersion: '2010-04-01',
          From: from,
          MessageSid: id,
          MessageStatus: 'delivered',
          SmsSid: id,
          SmsStatus: 'delivered',
          To: to,
        });
      }
      return {
        status: 201,
        leadId,
        duplicate,
        body: JSON.stringify({
          sid: id,
          account_sid: opts.accountSid,
          to,
          from,
          body,
          status: 'queued',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          date_created: new Date().toUTCString(),
        }),
      };
    },
  });

  return {
    ...server,
    receipts,
    setDeliveryReceipts(on: boolean, delayMs?: number) {
      receiptsOn = on;
      if (delayMs !== undefined) receiptDelayMs = delayMs;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...inFlight]);
      await server.close();
    },
  };
}

// ---- generic JSON -----------------------------------------------------------------------------

export interface JsonSmsSandboxOptions {
  port: number;
  host?: string;
  apiKey: string;
}

function jsonError(status: number, error: string, message: string, leadId: string | null = null): Answer {
  return { status, leadId, body: JSON.stringify({ error, message }) };
}

export async function startJsonSmsSandbox(opts: JsonSmsSandboxOptions): Promise<FaultServer> {
  const store = new IdempotencyStore();
  return startFaultServer({
    name: 'sms-json',
    port: opts.port,
    host: opts.host,
    handler: (req) => {
      if (req.method !== 'POST' || req.path !== '/v1/messages') return jsonError(404, 'not_found', `no route ${req.method} ${req.path}`);
      if (header(req.headers, 'authorization') !== `Bearer ${opts.apiKey}`) return jsonError(401, 'unauthorized', 'invalid API key');

      const key = header(req.headers, 'idempotency-key');
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

      const { id, duplicate } = store.claim(key, () => `msg_${randomBytes(12).toString('hex')}`);
      return { status: 202, leadId, duplicate, body: JSON.stringify({ id, status: 'accepted' }) };
    },
  });
}

// ---- XML --------------------------------------------------------------------------------------

export interface XmlSmsSandboxOptions {
  port: number;
  host?: string;
  apiKey: string;
}

function xmlError(status: number, code: string, error: string, leadId: string | null = null): Answer {
  return { status, leadId, contentType: 'application/xml', body: buildResponseXml({ status: 'ERROR', code, error }) };
}

export async function startXmlSmsSandbox(opts: XmlSmsSandboxOptions): Promise<FaultServer> {
  const store = new IdempotencyStore();
  return startFaultServer({
    name: 'sms-xml',
    port: opts.port,
    host: opts.host,
    // Cut off mid-document, as a dropped connection behind a proxy would leave it.
    malformedBody: '<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status><messageId>',
    handler: (req) => {
      if (req.method !== 'POST' || req.path !== '/api/sms.xml') return xmlError(404, 'NOT_FOUND', `no route ${req.method} ${req.path}`);
      if (header(req.headers, XML_API_KEY_HEADER) !== opts.apiKey) return xmlError(401, 'AUTH', 'invalid API key');

      const msg = parseMessageXml(req.body);
      if (!msg) return xmlError(400, 'MALFORMED', 'body is not a <message> document');
      const key = msg.reference || undefined;
      const leadId = leadIdFromIdempotencyKey(key);
      for (const field of ['to', 'from', 'text'] as const) {
        if (!msg[field]) return xmlError(400, 'MISSING_FIELD', `<${field}> is required`, leadId);
      }
      if (!E164.test(msg.to)) return xmlError(400, 'INVALID_NUMBER', `<to> ${msg.to} is not E.164`, leadId);

      const { id, duplicate } = store.claim(key, () => `X${randomBytes(10).toString('hex').toUpperCase()}`);
      return { status: 200, leadId, duplicate, contentType: 'application/xml', body: buildResponseXml({ status: 'OK', messageId: id }) };
    },
  });
}
