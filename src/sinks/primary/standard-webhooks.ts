/**
 * Outbound webhook signatures per the Standard Webhooks specification (standardwebhooks.com), so
 * a buyer verifies with an existing library (`standardwebhooks` on npm, PyPI, Go, …) instead of
 * code of their own:
 *
 *   webhook-id:         <leadId>:<destination>   the same on every retry of one delivery (dedupe on it)
 *   webhook-timestamp:  unix seconds             refuse anything more than 5 minutes off (replays)
 *   webhook-signature:  v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
 *
 * The key is the base64 part of the buyer's secret `whsec_<base64>`. Several space-separated
 * signatures may be sent during a secret rotation; we send one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_TOLERANCE_S = 5 * 60;

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

export function signStandardWebhook(secret: string, id: string, timestampS: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
}

/** The three headers for one delivery. */
export function standardWebhookHeaders(secret: string, id: string, body: string, nowMs: number): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signStandardWebhook(secret, id, ts, body) };
}

/** What a receiver does (our tests, and a reference for buyers without a library). */
export function verifyStandardWebhook(secret: string, headers: Record<string, string | undefined>, body: string, nowMs: number): boolean {
  const id = headers['webhook-id'];
  const ts = Number(headers['webhook-timestamp']);
  const given = headers['webhook-signature'];
  if (!id || !given || !Number.isInteger(ts) || Math.abs(nowMs / 1000 - ts) > WEBHOOK_TOLERANCE_S) return false;
  const expected = Buffer.from(signStandardWebhook(secret, id, ts, body));
  return given.split(' ').some((sig) => {
    const b = Buffer.from(sig);
    return b.length === expected.length && timingSafeEqual(b, expected);
  });
}
