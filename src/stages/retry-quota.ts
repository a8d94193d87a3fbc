/**
 * The retry quota: a token bucket of `perSecond` leads a second, one burst-second deep. A retry
 * stage takes its job's leads from it before calling the Sink, so a retry storm (a buyer back
 * after an hour of refusals, an operator replaying 10,000 dead leads) reaches the destination at
 * a pace that leaves room for first deliveries, which never wait for it. Waiting is cut short
 * when the job no longer matters (its group rebalanced): the rebalance does not wait out a quota.
 */
import { Abandoned } from '../kafka/backoff.js';

export interface RetryQuota {
  /** Resolves with the milliseconds it waited once `n` leads may go; throws Abandoned if `abandoned()` turns true meanwhile. */
  take(n: number, abandoned: () => boolean): Promise<number>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createRetryQuota(perSecond: number, now: () => number = Date.now, wait: (ms: number) => Promise<void> = sleep): RetryQuota {
  let tokens = perSecond;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) * perSecond) / 1000);
    last = t;
  };
  return {
    async take(n, abandoned) {
      const started = now();
      // A job larger than the bucket goes when the bucket is full and leaves a debt the next
      // jobs wait out: the pace holds without splitting the job.
      const need = Math.min(n, perSecond);
      for (refill(); tokens < need; refill()) {
        if (abandoned()) throw new Abandoned('its group rebalanced while it waited for the retry quota');
        await wait(Math.min(250, Math.ceil(((need - tokens) * 1000) / perSecond)));
      }
      tokens -= n;
      return now() - started;
    },
  };
}
