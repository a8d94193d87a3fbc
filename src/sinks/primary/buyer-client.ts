/**
 * Talking to buyers over HTTP, the one way every request to a buyer goes: the full lead POSTed to
 * its webhook, and the anonymised ping of an auction. Every request is signed per Standard
 * Webhooks with the buyer's secret (webhook-id is the delivery's idempotency key, the same on every
 * retry), carries an Idempotency-Key, has a hard time limit (connect, headers, body, and an abort
 * signal over all of them), and reads at most MAX_ANSWER_BYTES of the reply: whoever answers at a
 * buyer's address cannot make a sink buffer an unbounded body or wait for ever.
 *
 * What a reply means is decided elsewhere (src/distribution/response.ts maps it per buyer); this
 * module only says what came back: a status and a body, or why nothing did.
 */
import { Agent, request } from 'undici';
import { readCapped } from '../../read-capped.js';
import { standardWebhookHeaders } from './standard-webhooks.js';

/** A buyer's acknowledgement is a few hundred bytes; anything past this is not one. */
export const MAX_ANSWER_BYTES = 64 * 1024;

export interface BuyerEndpoint {
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
  secret?: string | undefined;
}

export type BuyerReply =
  | { ok: true; status: number; contentType: string | null; body: string; elapsedMs: number }
  /** timeout / network: nothing readable came back (the buyer may still have acted on it). */
  | { ok: false; kind: 'timeout' | 'network' | 'too-large'; detail: string; elapsedMs: number };

export interface BuyerClient {
  /** POSTs `body` (JSON text) to the endpoint with `id` as idempotency key and webhook-id. */
  post(endpoint: BuyerEndpoint, id: string, body: string): Promise<BuyerReply>;
  close(): Promise<void>;
}

/** `now` dates the signatures: the real clock (a buyer checks them against its own). */
export function createBuyerClient(opts: { connectTimeoutMs?: number; now?: () => number } = {}): BuyerClient {
  const now = opts.now ?? Date.now;
  // connect timeout too: a dead host fails within the buyer's budget, not the OS's minutes.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128, connect: { timeout: Math.max(opts.connectTimeoutMs ?? 3000, 100) } });
  return {
    async post(endpoint, id, body) {
      const started = Date.now();
      const signature = endpoint.secret ? standardWebhookHeaders(endpoint.secret, id, body, now()) : {};
      try {
        const res = await request(endpoint.url, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'idempotency-key': id, ...endpoint.headers, ...signature },
          body,
          headersTimeout: endpoint.timeoutMs,
          bodyTimeout: endpoint.timeoutMs,
          signal: AbortSignal.timeout(endpoint.timeoutMs),
        });
        const text = await readCapped(res.body, MAX_ANSWER_BYTES);
        const elapsedMs = Date.now() - started;
        if (text === null) return { ok: false, kind: 'too-large', detail: `HTTP ${res.statusCode} with an answer over ${MAX_ANSWER_BYTES} bytes (not read)`, elapsedMs };
        const type = res.headers['content-type'];
        return { ok: true, status: res.statusCode, contentType: (Array.isArray(type) ? type[0] : type) ?? null, body: text, elapsedMs };
      } catch (err) {
        const e = err as { name?: string; code?: string; message?: string };
        const timeout = e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(e.code ?? '');
        const detail = timeout ? `no answer within ${endpoint.timeoutMs} ms` : e.message || e.code || e.name || 'request failed';
        return { ok: false, kind: timeout ? 'timeout' : 'network', detail, elapsedMs: Date.now() - started };
      }
    },
    close: () => agent.close(),
  };
}

export { readCapped };
