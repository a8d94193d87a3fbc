/**
 * The one seam between the SMS sink and the providers. Providers differ in wire format, auth and
 * answer shape; the sink only needs "sent, with this id" or "failed, and is it worth retrying".
 * Adapters never throw for provider faults: a throw inside a Kafka batch would look like a crash,
 * while a result lets the sink decide per lead (retry topic, fallback provider, dead letter).
 */

export interface SmsMessage {
  leadId: string;
  /** E.164, e.g. +14155550123. */
  to: string;
  body: string;
  /** `${leadId}:${destination}`: a redelivered Kafka message must not text the person twice. */
  idempotencyKey: string;
  /** Where the provider should POST delivery receipts, when it supports them. */
  statusCallbackUrl?: string;
}

export type SmsSendResult =
  | { ok: true; providerMessageId: string }
  | {
      ok: false;
      /** false when retrying cannot help (invalid number, bad credentials); true for timeouts, 5xx, 429, bodies that don't validate. */
      retriable: boolean;
      error: string;
      /** HTTP status when the provider answered at all; for metrics and logs. */
      status?: number;
    };

export type SmsAdapterKind = 'twilio' | 'json' | 'xml';

export interface SmsAdapter {
  readonly kind: SmsAdapterKind;
  send(msg: SmsMessage): Promise<SmsSendResult>;
  /** Closes the connection pool; in-flight sends finish first. */
  close(): Promise<void>;
}
