/**
 * The one seam between the SMS sink and the providers. Providers differ in wire format, auth and
 * answer shape; the sink only needs "sent, with this id", "failed, and could it have gone out
 * anyway", and, when it could have, "did it go out?" (lookup).
 *
 * Providers do not de-duplicate: Twilio ignores our idempotency header and the others only keep a
 * reference for searching. A repeated send is a second text to the same person. So the sink records
 * a text as "sending" before calling send(), and when a failure is `uncertain` (or a lead comes
 * back with a "sending" record) it asks lookup() instead of sending again.
 *
 * Adapters never throw for provider faults: a throw inside a Kafka batch would look like a crash,
 * while a result lets the sink decide per lead (retry topic, fallback provider, dead letter).
 */

export interface SmsMessage {
  leadId: string;
  /** E.164, e.g. +14155550123. */
  to: string;
  body: string;
  /**
   * `${leadId}:${destination}`. Sent to the provider as its reference / idempotency header so
   * lookup() can find the message again; it does NOT make a repeated send safe.
   */
  idempotencyKey: string;
  /** Where the provider should POST delivery receipts, when it supports them. */
  statusCallbackUrl?: string;
  /**
   * Asked right before the request goes out (after pacing): false means the intent recorded for
   * this text is too old to act on, since another owner may be about to look it up and send it.
   * The adapter then sends nothing and answers `{ ok: false, stale: true }`.
   */
  stillFresh?: () => boolean;
}

export type SmsSendResult =
  | { ok: true; providerMessageId: string }
  | {
      ok: false;
      /** false when retrying cannot help (invalid number, bad credentials); true for timeouts, 5xx, 429, bodies that don't validate. */
      retriable: boolean;
      /**
       * false: the provider certainly did not take the message (the request never reached it:
       * refused, unknown host, connect timeout, timed out waiting for a connection; or it answered
       * a non-2xx status). Sending again, here or elsewhere, cannot text the person twice.
       * true: it may have been sent (the request was written but no answer came: timeout, reset;
       * or a 2xx we could not read). Call lookup() before sending again.
       */
      uncertain: boolean;
      error: string;
      /** HTTP status when the provider answered at all; for metrics and logs. */
      status?: number;
      /** Not sent because stillFresh() said no: nothing reached the provider, nothing to record. */
      stale?: true;
    };

export interface SmsLookupQuery {
  /** The number the text went to (E.164). */
  to: string;
  /** The key the text was sent with (SmsMessage.idempotencyKey). */
  idempotencyKey: string;
  /** Epoch ms when the send was started (the "sending" record); older messages to `to` do not count. */
  since: number;
}

export type SmsLookupResult =
  /** The provider has the message and has not given up on it (queued, sent, delivered…). */
  | { found: true; providerMessageId: string }
  /** The provider answered and has no such message, or only one it failed to send: sending is safe. */
  | { found: false }
  /** The provider could not be asked (down, timeout, non-2xx, unreadable answer): still uncertain. */
  | { found: 'unknown'; reason: string };

export type SmsAdapterKind = 'twilio' | 'json' | 'xml';

export interface SmsAdapter {
  readonly kind: SmsAdapterKind;
  send(msg: SmsMessage): Promise<SmsSendResult>;
  /** Asks the provider whether the message was sent; same deadline as send. Never throws. */
  lookup(q: SmsLookupQuery): Promise<SmsLookupResult>;
  /** Closes the connection pool; in-flight sends finish first. */
  close(): Promise<void>;
}
