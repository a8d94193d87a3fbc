/**
 * The retry quota: a token bucket of `perSecond` leads a second, one burst-second deep. A retry
 * stage takes its job's leads from it before calling the Sink, so a retry storm (a buyer back
 * after an hour of refusals, an operator replaying 10,000 dead leads) reaches the destination at
 * a pace that leaves room for first deliveries, which never wait for it. Waiting is cut short
 * when the job no longer matters (its group rebalanced): the rebalance does not wait out a quota.
 */
import { Abandoned } from '../kafka/backoff.js';

export interface RetryQuota {
  /** Resolves when `n` leads may go; throws Abandoned if `abandoned()` turns true meanwhile. */
  take(n: number, abandoned: () => boolean): Promise<void>;
  /** Milliseconds spent waiting so far, for the throttled metric. */
  readonly waitedMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createRetryQuota(perSecond: number, now: () => number = Date.now, wait: (ms: number) => Promise<void> = sleep): RetryQuota {
  let tokens = perSecond;
  let last = now();
  let waitedMs = 0;
  const refill = () => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) * perSecond) / 1000);
    last = t;
  };
  return {
    get waitedMs() {
      return waitedMs;
    },
    async take(n, abandoned) {
      // A job larger than the bucket goes when the bucket is full and leaves a debt the next
      // jobs wait out: the pace holds without splitting the job.
      const need = Math.min(n, perSecond);
      for (refill(); tokens < need; refill()) {
        if (abandoned()) throw new Abandoned('its group rebalanced while it waited for the retry quota');
        const ms = Math.min(250, Math.ceil(((need - tokens) * 1000) / perSecond));
        const started = now();
        await wait(ms);
        waitedMs += now() - started;
      }
      tokens -= n;
    },
  };
}
