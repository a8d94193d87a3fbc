/**
 * Client for an external email-verification HTTP API, built so a slow or dead verifier can never
 * stall the enrich stage:
 *
 *   cache      LRU with TTL: an address verified within the TTL is answered from memory (source
 *              "cache"); concurrent asks for the same address share one call.
 *   budget     every lead gets an answer within `budgetMs`, queueing included; past it the lead
 *              goes on as unknown / verifier_timeout. The call itself keeps running up to its own
 *              timeout, so a late verdict still lands in the cache for the next lead.
 *   limit      at most `concurrency` calls in flight (p-limit); calls within a batch overlap.
 *   breaker    opossum counts failures (network errors, timeouts, 5xx, 429, 401/403, malformed
 *              bodies); past the threshold the circuit opens and leads are answered at once as
 *              unknown / verifier_circuit_open, until a trial call succeeds again.
 *   transport  undici Pool with keep-alive connections to the verifier's origin.
 *
 * Verdicts are read through the configured response mapping, so another vendor is a config change.
 */
import CircuitBreaker from 'opossum';
import pLimit from 'p-limit';
import { LRUCache } from 'lru-cache';
import { Pool } from 'undici';
import type { EmailEnrichment, EmailStatus } from '../../lead.js';
import { readCapped } from '../../read-capped.js';
import type { VerifierConfig } from './config.js';

export interface VerifierStats {
  calls: number;
  cacheHits: number;
  timeouts: number;
  circuitOpenAnswers: number;
  failures: number;
  circuit: 'closed' | 'open' | 'half-open';
}

export interface EmailVerifier {
  /** Verifies a normalized address. Never rejects. */
  verify(address: string): Promise<EmailEnrichment>;
  stats(): VerifierStats;
  close(): Promise<void>;
}

interface Verdict {
  status: EmailStatus;
  reason: string;
  /** Whether the verdict may be reused (the verifier itself said it knows). */
  cacheable: boolean;
}

/** A failure of the verification service, counted by the circuit breaker. */
class VerifierFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export function createEmailVerifier(config: VerifierConfig): EmailVerifier {
  const endpoint = new URL(config.url);
  const pool = new Pool(endpoint.origin, {
    connections: config.connections,
    keepAliveTimeout: 30_000,
    pipelining: 1,
    // Besides the per-call AbortSignal: a dead host fails within the budget, not the OS connect timeout.
    connect: { timeout: config.budgetMs },
    headersTimeout: config.budgetMs,
    bodyTimeout: config.budgetMs,
  });
  const limit = pLimit(config.concurrency);
  const cache = config.cacheSize > 0 ? new LRUCache<string, Verdict>({ max: config.cacheSize, ttl: config.cacheTtlMs }) : null;
  const inFlight = new Map<string, Promise<Verdict>>();
  const counters = { calls: 0, cacheHits: 0, timeouts: 0, circuitOpenAnswers: 0, failures: 0 };

  const breaker = new CircuitBreaker(callVerifier, {
    timeout: false, // each call carries its own AbortSignal timeout, see callVerifier
    errorThresholdPercentage: config.breaker.errorThresholdPercentage,
    volumeThreshold: config.breaker.volumeThreshold,
    resetTimeout: config.breaker.resetTimeoutMs,
    rollingCountTimeout: config.breaker.rollingCountTimeoutMs,
  });

  /** One HTTP call. Resolves with a verdict, or rejects with a VerifierFailure the breaker counts. */
  async function callVerifier(address: string): Promise<Verdict> {
    counters.calls++;
    // The address goes in the body: a URL ends up in access logs, proxies and the verifier's logs.
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json', [config.apiKeyHeader]: config.apiKey };
    const body = JSON.stringify({ [config.emailParam]: address });
    let statusCode: number;
    let text: string;
    try {
      const res = await pool.request({
        method: 'POST',
        path: `${endpoint.pathname}${endpoint.search}`,
        headers,
        body,
        signal: AbortSignal.timeout(config.budgetMs),
      });
      statusCode = res.statusCode;
      // Refused, not truncated, past the cap: a cut JSON answer is no answer.
      const answer = await readCapped(res.body, config.maxResponseBytes);
      if (answer === null) throw new VerifierFailure('verifier_bad_response');
      text = answer;
    } catch (err) {
      if (err instanceof VerifierFailure) throw err;
      const name = (err as { name?: string }).name;
      throw new VerifierFailure(name === 'TimeoutError' || name === 'AbortError' ? 'verifier_timeout' : 'verifier_unavailable');
    }
    if (statusCode === 401 || statusCode === 403) throw new VerifierFailure('verifier_auth_failed');
    if (statusCode === 429 || statusCode >= 500) throw new VerifierFailure(`verifier_http_${statusCode}`);
    // Any other 4xx is about this address or request, not the service: no breaker count.
    if (statusCode >= 300) return { status: 'unknown', reason: `verifier_http_${statusCode}`, cacheable: false };
    return readVerdict(text);
  }

  function readVerdict(text: string): Verdict {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new VerifierFailure('verifier_bad_response');
    }
    const raw = pick(json, config.mapping.verdictField);
    if (typeof raw !== 'string' || raw === '') throw new VerifierFailure('verifier_bad_response');
    // Own keys only: a verifier answering "constructor" or "__proto__" must not find a built-in.
    const status = Object.hasOwn(config.mapping.verdicts, raw) ? config.mapping.verdicts[raw] : undefined;
    if (!status) return { status: 'unknown', reason: `verifier_unmapped:${raw}`, cacheable: false };
    const reasonValue = config.mapping.reasonField ? pick(json, config.mapping.reasonField) : undefined;
    const reason = `verifier:${typeof reasonValue === 'string' && reasonValue !== '' ? reasonValue : raw}`;
    // "unknown" from the verifier means it could not tell this time (greylisting, SMTP timeout): ask again later.
    return { status, reason, cacheable: status !== 'unknown' };
  }

  /** Runs the call under the concurrency cap, unless the lead's budget ran out while it queued. */
  function verifyOnce(address: string, deadline: number): Promise<Verdict> {
    return limit(async () => {
      if (Date.now() >= deadline) return { status: 'unknown', reason: 'verifier_timeout', cacheable: false } satisfies Verdict;
      try {
        const verdict = await breaker.fire(address);
        if (verdict.cacheable) cache?.set(address, verdict);
        return verdict;
      } catch (err) {
        if ((err as { code?: string }).code === 'EOPENBREAKER') return { status: 'unknown', reason: 'verifier_circuit_open', cacheable: false };
        counters.failures++;
        return { status: 'unknown', reason: err instanceof VerifierFailure ? err.reason : 'verifier_error', cacheable: false };
      }
    });
  }

  function answer(address: string, verdict: Verdict, source: EmailEnrichment['source']): EmailEnrichment {
    if (verdict.reason === 'verifier_timeout') counters.timeouts++;
    if (verdict.reason === 'verifier_circuit_open') counters.circuitOpenAnswers++;
    return { address, status: verdict.status, reason: verdict.reason, source, suggestion: null };
  }

  return {
    async verify(address) {
      const cached = cache?.get(address);
      if (cached) {
        counters.cacheHits++;
        return answer(address, cached, 'cache');
      }
      // Fail fast without queueing behind calls that are about to fail anyway.
      if (breaker.opened) return answer(address, { status: 'unknown', reason: 'verifier_circuit_open', cacheable: false }, 'verifier');

      const deadline = Date.now() + config.budgetMs;
      let call = inFlight.get(address);
      if (!call) {
        call = verifyOnce(address, deadline).finally(() => inFlight.delete(address));
        inFlight.set(address, call);
      }
      let timer: NodeJS.Timeout | undefined;
      const overBudget = new Promise<Verdict>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'unknown', reason: 'verifier_timeout', cacheable: false }), config.budgetMs);
      });
      try {
        return answer(address, await Promise.race([call, overBudget]), 'verifier');
      } finally {
        clearTimeout(timer);
      }
    },
    stats() {
      return { ...counters, circuit: breaker.opened ? 'open' : breaker.halfOpen ? 'half-open' : 'closed' };
    },
    async close() {
      breaker.shutdown();
      cache?.clear();
      await pool.close();
    },
  };
}

/** Value at a dot path ("data.result") of parsed JSON, or undefined. */
function pick(json: unknown, path: string): unknown {
  let value: unknown = json;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
