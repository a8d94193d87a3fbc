/**
 * The HTTP plumbing the three adapters share: one keep-alive pool per provider, one deadline per
 * call, and one place that turns transport failures and status codes into results, so the
 * retriable and certain/uncertain rules are the same for every provider.
 *
 * Certain or uncertain. Providers do not de-duplicate, so what matters after a failed send is
 * whether the provider could have taken it. We ask undici directly instead of guessing from error
 * codes: a pool interceptor sees `onRequestStart` (`onConnect` in undici's legacy handler API),
 * which undici calls on a connected socket right before it writes the request (client-h1
 * `writeH1`). Before that call nothing of the request has left this process, whatever the error:
 * ECONNREFUSED, ENOTFOUND, EHOSTUNREACH, UND_ERR_CONNECT_TIMEOUT, our deadline firing while it
 * waited for a free connection, a socket that closed first. After it, the bytes may have reached
 * the provider, so a reset, "other side closed" or a timeout is uncertain. A status line ends the
 * doubt: non-2xx means the provider refused the message by contract; a 2xx whose body we cannot
 * read or validate may still be a sent text. The unit tests pin this (refused → certain, a peer
 * that closes after reading → uncertain), so an undici upgrade that moved the hook fails them.
 * Error codes (err.code, err.cause.code) only go into the error text, for logs.
 */
import { Pool, type Dispatcher } from 'undici';
import { scrubReason } from '../../../security/scrub.js';
import type { SmsLookupResult, SmsSendResult } from './adapter.js';

export interface ProviderPoolOptions {
  baseUrl: string;
  /** Connections kept open; matches the adapter's concurrency so a paced send never waits for a socket. */
  connections: number;
  timeoutMs: number;
}

/** A provider's connection pool, with the interceptor that notes when a request was written. */
export type ProviderPool = Dispatcher;

/** Passed as the request's `opaque`: the only per-request value undici hands to interceptors. */
class WriteTracker {
  written = false;
}

const trackWrites: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const tracker = (opts as { opaque?: unknown }).opaque;
  if (!(tracker instanceof WriteTracker)) return dispatch(opts, handler);
  const h = handler as Dispatcher.DispatchHandler;
  return dispatch(opts, {
    onRequestStart(controller, context) {
      h.onRequestStart?.(controller, context);
      // The request handler aborts here when our deadline already fired: then nothing is written.
      if (!controller.aborted) tracker.written = true;
    },
    onRequestUpgrade: (c, status, headers, socket) => h.onRequestUpgrade?.(c, status, headers, socket),
    onResponseStart: (c, status, headers, message) => h.onResponseStart?.(c, status, headers, message),
    onResponseData: (c, chunk) => h.onResponseData?.(c, chunk),
    onResponseEnd: (c, trailers) => h.onResponseEnd?.(c, trailers),
    onResponseError: (c, err) => h.onResponseError?.(c, err),
  });
};

export function createProviderPool(opts: ProviderPoolOptions): ProviderPool {
  return new Pool(new URL(opts.baseUrl).origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    // A dead host must fail within the call's budget, not the OS connect timeout (minutes).
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  }).compose(trackWrites);
}

/** Joins the base URL's path prefix (a provider may live under /sms) with the endpoint path. */
export function endpointPath(baseUrl: string, path: string): string {
  const prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  return `${prefix}${path}`;
}

/** Either the provider answered (any status), or the call failed before a usable answer. */
export type CallOutcome =
  | { answered: true; status: number; body: string }
  | { answered: false; uncertain: boolean; error: string; status?: number };

/** Answers bigger than this are not a provider's acknowledgement or lookup page; stop reading. */
const MAX_BODY_BYTES = 256 * 1024;

/** One request with the whole answer read within timeoutMs. Never throws. */
export async function call(
  pool: ProviderPool,
  req: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<CallOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  const tracker = new WriteTracker();
  let status: number | undefined;
  try {
    const res = await pool.request({ ...req, signal, opaque: tracker });
    status = res.statusCode;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > MAX_BODY_BYTES) {
        res.body.destroy();
        break;
      }
      chunks.push(buf);
    }
    return { answered: true, status, body: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    const what = describe(err, signal.aborted, timeoutMs);
    // The status line arrived and the body broke off: the status still says what happened.
    if (status !== undefined && (status < 200 || status >= 300)) return { answered: true, status, body: '' };
    if (status !== undefined) return { answered: false, uncertain: true, status, error: `answer cut off: ${what}` };
    if (!tracker.written) return { answered: false, uncertain: false, error: `not sent: ${what}` };
    return { answered: false, uncertain: true, error: `no answer after the request was sent: ${what}` };
  }
}

function describe(err: unknown, aborted: boolean, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; code?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  if (aborted || /TIMEOUT/.test(code ?? '')) return `timeout after ${timeoutMs} ms${code ? ` (${code})` : ''}`;
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return code && !text.includes(code) ? `${text} (${code})` : text;
}

/** A send's outcome: the provider's answer, or the failed result for a transport problem. */
export type PostOutcome = { answered: true; status: number; body: string } | { answered: false; failure: SmsSendResult };

/**
 * POSTs a send. Transport failures stay retriable (the provider or the path to it is in trouble);
 * whether a retry may text the person twice is `uncertain`, which the sink answers with lookup().
 */
export async function post(
  pool: ProviderPool,
  path: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const out = await call(pool, { method: 'POST', path, headers, body }, timeoutMs);
  if (out.answered) return out;
  const { uncertain, error, status } = out;
  return { answered: false, failure: { ok: false, retriable: true, uncertain, error, ...(status === undefined ? {} : { status }) } };
}

/**
 * The status rule shared by all providers: 408, 425, 429 and 5xx are the provider's trouble
 * (retry later, maybe elsewhere); any other non-2xx is about this request (bad number, bad
 * credentials, bad config) and retrying the same request cannot fix it. Either way the provider
 * said it did not take the message, so the failure is certain.
 */
export function failureForStatus(status: number, body: string): SmsSendResult {
  const retriable = status === 408 || status === 425 || status === 429 || status >= 500;
  return { ok: false, retriable, uncertain: false, status, error: `http ${status}: ${snippet(body)}` };
}

/**
 * A 2xx we cannot read: the provider may have queued the message. Retriable, but uncertain: the
 * sink must look the message up rather than send it again.
 */
export function unreadableAnswer(status: number, body: string): SmsSendResult {
  return { ok: false, retriable: true, uncertain: true, status, error: `unexpected answer: ${snippet(body)}` };
}

/** A lookup that did not get a usable answer: the outcome stays unknown. */
export function lookupUnknown(out: CallOutcome): SmsLookupResult {
  if (out.answered) return { found: 'unknown', reason: `lookup: http ${out.status}: ${snippet(out.body)}` };
  return { found: 'unknown', reason: `lookup: ${out.error}` };
}

/** A short, scrubbed excerpt of a provider's answer: providers echo the number and text they were sent. */
export function snippet(body: string, max = 120): string {
  return scrubReason(body, { max });
}
