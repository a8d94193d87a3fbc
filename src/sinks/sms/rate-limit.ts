/**
 * Per-provider pacing: a token bucket (sustained messages/second plus a burst allowance) and a
 * concurrency cap. Providers enforce both, and going over either turns into 429s and, on some
 * carriers, filtering of the sender number; pacing on our side keeps every send inside the limits.
 *
 * The bucket is kept as GCRA ("virtual scheduling"): one number, the theoretical arrival time of
 * the next send. Each caller reserves its slot synchronously, so slots are handed out in call
 * order (FIFO) with no polling, and the clock and sleep are injectable for tests.
 *
 * Order of the two limits: a caller first takes a concurrency slot, then waits for its token.
 * Taking the token first would let tokens pile up while callers wait for a slot and then go out
 * together, a burst above the configured rate.
 */
import pLimit from 'p-limit';
import type { SmsAdapter, SmsSendResult } from './adapters/adapter.js';

export interface RateLimitOptions {
  /** Sustained sends per second. */
  ratePerSecond: number;
  /** Sends allowed back to back before pacing starts (≥ 1). */
  burst?: number;
  /** Most calls in flight at once (≥ 1). */
  concurrency: number;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
  /** Waits ms; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RateLimiter {
  /** Runs fn once a concurrency slot and a token are both available; resolves/rejects with fn. */
  schedule<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls waiting for a concurrency slot. */
  readonly pendingCount: number;
  /** Calls holding a concurrency slot (waiting for a token or running). */
  readonly activeCount: number;
}

export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  if (!(opts.ratePerSecond > 0)) throw new Error(`ratePerSecond must be > 0, got ${opts.ratePerSecond}`);
  const burst = opts.burst ?? 1;
  if (!Number.isInteger(burst) || burst < 1) throw new Error(`burst must be an integer ≥ 1, got ${burst}`);
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    throw new Error(`concurrency must be an integer ≥ 1, got ${opts.concurrency}`);
  }
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const interval = 1000 / opts.ratePerSecond;
  // How far ahead of "now" the schedule may run before a caller has to wait: burst-1 intervals.
  const tolerance = (burst - 1) * interval;
  let tat = Number.NEGATIVE_INFINITY; // theoretical arrival time of the next send
  const limit = pLimit(opts.concurrency);
  let started: Promise<void> = Promise.resolve(); // the latest reservation's start

  /** Reserves the next slot and returns how long to wait for it (0 = go now). */
  function reserve(): number {
    const t = now();
    const start = Math.max(tat, t);
    const waitUntil = start - tolerance;
    tat = start + interval;
    return Math.max(0, waitUntil - t);
  }

  return {
    schedule<T>(fn: () => Promise<T>): Promise<T> {
      return limit(async () => {
        const wait = reserve();
        // Starts in reservation order even when the event loop runs late: a slot whose time has
        // already passed must not overtake an earlier one whose timer has not fired yet.
        const earlier = started;
        const go = (wait > 0 ? sleep(wait) : Promise.resolve()).then(() => earlier);
        started = go;
        await go;
        return fn();
      });
    },
    get pendingCount() {
      return limit.pendingCount;
    },
    get activeCount() {
      return limit.activeCount;
    },
  };
}

export const STALE: SmsSendResult = { ok: false, retriable: true, uncertain: false, stale: true, error: 'not sent: its intent grew too old while it waited (checked again later)' };

/** Wraps an adapter so every send is paced; lookups (rare, after a crash) and close() are passed through. */
export function withRateLimit(adapter: SmsAdapter, limiter: RateLimiter): SmsAdapter {
  return {
    kind: adapter.kind,
    // Pacing may hold a text for a while: whether its intent is still fresh is asked after it.
    send: (msg) => limiter.schedule(() => (msg.stillFresh && !msg.stillFresh() ? Promise.resolve(STALE) : adapter.send(msg))),
    lookup: (q) => adapter.lookup(q),
    close: () => adapter.close(),
  };
}
