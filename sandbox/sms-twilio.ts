/**
 * Sandbox Twilio Messages API, speaking the wire format of src/sinks/sms/adapters/twilio.ts:
 *   POST /2010-04-01/Accounts/{sid}/Messages.json   send (form: To, From, Body, StatusCallback)
 *   GET  /2010-04-01/Accounts/{sid}/Messages.json   list, newest first: ?To=&From=&DateSent>=&PageSize=
 * Basic auth, Twilio's error bodies ({code, message, more_info, status}) and codes. Like Twilio it
 * ignores I-Twilio-Idempotency-Token unless started with `idempotency: true` (see sms-sent.ts).
 *
 * It can also POST a signed delivery receipt to the message's StatusCallback with the params
 * Twilio sends (AccountSid, ApiVersion, From, MessageSid, MessageStatus, SmsSid, SmsStatus, To),
 * off by default so each test decides (setDeliveryReceipts).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { signTwilio } from '../src/sinks/sms/signature.js';
import { TWILIO_IDEMPOTENCY_HEADER } from '../src/sinks/sms/adapters/twilio.js';
import { startFaultServer, type Answer } from './fault-server.js';
import { E164, header, leadIdFromIdempotencyKey, SentLog, type SentText, type SmsSandbox, type SmsSandboxOptions } from './sms-sent.js';

export interface TwilioSandboxOptions extends SmsSandboxOptions {
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

export interface TwilioSandbox extends SmsSandbox {
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

/** Twilio's date format: RFC 2822 with a numeric zone. */
function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}

export async function startTwilioSandbox(opts: TwilioSandboxOptions): Promise<TwilioSandbox> {
  const log = new SentLog(opts.idempotency ?? false);
  const receipts: ReceiptAttempt[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();
  let receiptsOn = opts.deliveryReceipts ?? false;
  let receiptDelayMs = opts.receiptDelayMs ?? 50;
  const expectedAuth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const messagesPath = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;

  function scheduleReceipt(url: string, text: SentText): void {
    const params = {
      AccountSid: opts.accountSid,
      ApiVersion: '2010-04-01',
      From: text.from,
      MessageSid: text.id,
      MessageStatus: 'delivered',
      SmsSid: text.id,
      SmsStatus: 'delivered',
      To: text.to,
    };
    const timer = setTimeout(() => {
      timers.delete(timer);
      text.status = 'delivered';
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

  function resource(t: SentText): Record<string, unknown> {
    return {
      sid: t.id,
      account_sid: opts.accountSid,
      to: t.to,
      from: t.from,
      body: t.body,
      status: t.status,
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: rfc2822(t.at),
      date_sent: rfc2822(t.at),
      date_updated: rfc2822(t.at),
    };
  }

  function send(form: URLSearchParams, key: string | null): Answer {
    const leadId = leadIdFromIdempotencyKey(key);
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const body = form.get('Body') ?? '';
    if (!to) return twilioError(400, 21604, "A 'To' phone number is required.", leadId);
    if (!E164.test(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`, leadId);
    if (!from) return twilioError(400, 21603, "A 'From' phone number is required.", leadId);
    if (!body) return twilioError(400, 21602, 'Message body is required.', leadId);
    if (body.length > 1600) return twilioError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.', leadId);

    const { text, duplicate, replayed } = log.accept({ key, to, from, body, status: 'queued' }, () => `SM${randomBytes(16).toString('hex')}`);
    const callback = form.get('StatusCallback');
    if (receiptsOn && callback && !replayed) scheduleReceipt(callback, text);
    return { status: 201, leadId, duplicate, replayed, body: JSON.stringify({ ...resource(text), status: 'queued' }) };
  }

  /** The Messages list: To/From exact, DateSent> / DateSent< / DateSent by UTC day, newest first. */
  function list(path: string, query: URLSearchParams): Answer {
    const pageSize = Math.min(Math.max(Number(query.get('PageSize') ?? 50) || 50, 1), 1000);
    const day = (t: SentText) => new Date(t.at).toISOString().slice(0, 10);
    const [to, from, after, before, on] = ['To', 'From', 'DateSent>', 'DateSent<', 'DateSent'].map((k) => query.get(k));
    const matching = log.sent
      .filter((t) => (!to || t.to === to) && (!from || t.from === from))
      .filter((t) => (!after || day(t) >= after) && (!before || day(t) <= before) && (!on || day(t) === on))
      .reverse();
    const page = matching.slice(0, pageSize);
    const uri = `${path}?${query}`;
    return {
      status: 200,
      leadId: null,
      body: JSON.stringify({
        messages: page.map(resource),
        page: 0,
        page_size: pageSize,
        start: 0,
        end: Math.max(page.length - 1, 0),
        uri,
        first_page_uri: uri,
        previous_page_uri: null,
        next_page_uri: matching.length > pageSize ? `${uri}&Page=1` : null,
      }),
    };
  }

  const server = await startFaultServer({
    name: 'sms-twilio',
    port: opts.port,
    host: opts.host,
    // Valid JSON that does not validate (no sid): the adapter must check the answer, not just parse it.
    malformedBody: '{"status":"queued","sid":null}',
    control: log.controlRoutes(),
    handler: (req) => {
      const m = messagesPath.exec(req.path);
      if (!m || (req.method !== 'POST' && req.method !== 'GET')) return twilioError(404, 20404, 'The requested resource was not found');
      if (header(req.headers, 'authorization') !== expectedAuth) return twilioError(401, 20003, 'Authenticate');
      if (decodeURIComponent(m[1] ?? '') !== opts.accountSid) return twilioError(404, 20404, 'The requested resource was not found');
      if (req.method === 'GET') return list(req.path, req.query);
      return send(new URLSearchParams(req.body), header(req.headers, TWILIO_IDEMPOTENCY_HEADER) ?? null);
    },
  });

  return {
    ...log.attach(server),
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
