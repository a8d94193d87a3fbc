/**
 * The HTTP plumbing the three adapters share: one keep-alive pool per provider, one deadline per
 * call, and one place that turns transport failures and status codes into SmsSendResult, so the
 * retriable/non-retriable rule is the same for every provider.
 */
import { Pool } from 'undici';
import type { SmsSendResult } from './adapter.js';

export interface ProviderPoolOptions {
  baseUrl: string;
  /** Connections kept open; matches the adapter's concurrency so a paced send never waits for a socket. */
  connections: number;
  timeoutMs: number;
}

export function createProviderPool(opts: ProviderPoolOptions): Pool {
  return new Pool(new URL(opts.baseUrl).origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    // A dead host must fail within the call's budget, not the OS connect timeout (minutes).
    connect: { timeout: opts.timeoutMs },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
}

/** Joins the base URL's path prefix (a provider may live under /sms) with the endpoint path. */
export function endpointPath(baseUrl: string, path: string): string {
  const prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  return `${prefix}${path}`;
}

/** Either the provider answered (any status), or the call failed before an answer. */
export type PostOutcome = { answered: true; status: number; body: string } | { answered: false; failure: SmsSendResult };

/** Answers bigger than this are not a provider's send acknowledgement; stop reading. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * POSTs and reads the whole answer within timeoutMs. Returns the answer, or a failed result for
 * transport problems (refused, reset, timeout), which are always retriable: the provider may or
 * may not have the message, and the idempotency key makes the retry safe.
 */
export async function post(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<PostOutcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await pool.request({ method: 'POST', path, headers, body, signal });
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
    return { answered: true, status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    const timedOut = signal.aborted || (err instanceof Error && /timeout/i.test(err.name + err.message));
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const error = timedOut ? `timeout after ${timeoutMs} ms` : `transport: ${reason}`;
    return { answered: false, failure: { ok: false, retriable: true, error } };
  }
}

/**
 * The status rule shared by all providers: 408, 425, 429 and 5xx are the provider's trouble
 * (retry later, maybe elsewhere); any other non-2xx is about this request (bad number, bad
 * credentials, bad config) and retrying the same request cannot fix it.
 */
export function failureForStatus(status: number, body: string): SmsSendResult {
  const retriable = status === 408 || status === 425 || status === 429 || status >= 500;
  return { ok: false, retriable, status, error: `http ${status}: ${snippet(body)}` };
}

export function snippet(body: string, max = 200): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
