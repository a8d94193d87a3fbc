/**
 * What the SMS webhooks take and what they hand on: each provider's webhook settings (read from
 * config/router.yaml) and the two records the routes produce, a person's reply and a delivery
 * receipt. Apart from the fastify plugin so that the config and the SMS sink's handlers
 * (src/sinks/sms/webhook-handlers.ts) can speak about them without the HTTP side.
 */
import type { SmsProviderConfig } from '../config.js';
import type { ReplyIntent } from '../sinks/sms/reply-intent.js';

export interface SmsProviderWebhookConfig {
  kind: 'twilio' | 'json' | 'xml';
  /** twilio: the account's auth token, the key of X-Twilio-Signature. */
  authToken?: string;
  /** json/xml: the shared secret of `x-signature: sha256=<hex>` (HMAC-SHA256 of the raw body). */
  webhookSecret?: string;
  /** How a `from` written without a +country code is read (json/xml); without it such numbers must be international. */
  defaultCountry?: 'US' | 'GB';
}

export interface InboundReply {
  provider: string;
  /** E.164. */
  from: string;
  to: string | null;
  text: string;
  intent: ReplyIntent;
  providerMessageId: string | null;
  receivedAt: number;
}

export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'failed' | 'undelivered';

export interface DeliveryReceipt {
  provider: string;
  providerMessageId: string;
  status: DeliveryStatus;
  errorCode: string | null;
  /** When the receipt arrived (providers do not all say when the status changed): not part of its identity. */
  at: number;
}

/**
 * The provider entries of config/router.yaml (sms.providers) as webhook configs: twilio's
 * authToken, json/xml's webhookSecret; a provider serving one market reads national numbers in it.
 */
export function smsWebhookProvidersFromConfig(providers: Record<string, SmsProviderConfig>): Record<string, SmsProviderWebhookConfig> {
  const out: Record<string, SmsProviderWebhookConfig> = {};
  for (const [name, cfg] of Object.entries(providers)) {
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    const only = cfg.markets.length === 1 ? cfg.markets[0] : undefined;
    out[name] = {
      kind: cfg.kind,
      ...(cfg.kind === 'twilio' ? { authToken: str(cfg.authToken) } : { webhookSecret: str(cfg.webhookSecret) }),
      ...(only ? { defaultCountry: only === 'UK' ? 'GB' : 'US' } : {}),
    };
  }
  return out;
}
