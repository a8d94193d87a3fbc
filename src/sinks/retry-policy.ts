/**
 * When to try a failed delivery again, and when to give up. Capped exponential backoff with
 * "equal jitter" (half fixed, half random), so a burst of failures does not come back as a burst.
 */
import type { RetryPolicy } from '../config.js';

/** Delay before attempt number `attempt` (1 = the first retry). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

export type RetryDecision = { retry: true; attempt: number; nextAttemptAt: number } | { retry: false; reason: string };

/** After attempt `failedAttempt` (0-based) failed at `now`, decide whether another follows. */
export function decideRetry(policy: RetryPolicy, failedAttempt: number, firstAttemptAt: number, now: number, random?: () => number): RetryDecision {
  const tries = failedAttempt + 1;
  if (tries >= policy.maxAttempts) return { retry: false, reason: `gave up after ${tries} attempts` };
  const next = failedAttempt + 1;
  const nextAttemptAt = now + backoffMs(policy, next, random);
  if (nextAttemptAt - firstAttemptAt > policy.maxAgeMs) {
    return { retry: false, reason: `gave up after ${tries} attempts: older than ${Math.round(policy.maxAgeMs / 1000)} s` };
  }
  return { retry: true, attempt: next, nextAttemptAt };
}
