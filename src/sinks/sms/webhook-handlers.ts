/**
 * What the SMS webhooks do with what providers tell us. Replies are recorded on
 * leads.sms.replies (MORE is the "send me more jobs" event data teams consume); STOP and START
 * also write the compacted opt-out list, which every route and SMS-sink process follows. A reply
 * and a receipt become events in the lead's history. Everything is written with acks=all, in one
 * request, before the provider gets its 2xx, so nothing is lost (a failure answers 503 and the
 * provider retries).
 * Receipts: a repeated callback produces the same event id (provider, message, status), so the
 * history keeps one. A receipt for a message we have no record of yet is refused (503) so the
 * provider retries it, rather than lost.
 */
import { eventOutputs } from '../../history/events.js';
import type { Output, RecordProducer } from '../../kafka/stage-contract.js';
import type { Encoder } from '../../kafka/codec.js';
import type { DeliveryReceipt, InboundReply } from '../../ingest/sms-webhooks-plugin.js';
import { optOutOutput } from './optouts.js';
import type { SentStore } from './sent-store.js';

export interface SmsReplyRecord {
  provider: string;
  from: string;
  to: string | null;
  text: string;
  intent: InboundReply['intent'];
  providerMessageId: string | null;
  receivedAt: number;
}

export function createSmsWebhookHandlers(deps: {
  producer: RecordProducer;
  encoder: Encoder;
  topics: { smsReplies: string; optouts: string; events: string };
  /** Opened on first use: ingest takes leads even while MongoDB is away. */
  sent: () => Promise<SentStore>;
}) {
  const send = (outputs: Output[]) => deps.producer.send(outputs.map((o) => ({ topic: o.topic, key: o.key, value: deps.encoder.encode(o.topic, o.value) })));

  return {
    async onReply(reply: InboundReply): Promise<void> {
      const record: SmsReplyRecord = { ...reply };
      const outputs: Output[] = [{ topic: deps.topics.smsReplies, key: reply.from, value: record }];
      if (reply.intent === 'STOP' || reply.intent === 'START') {
        outputs.push(optOutOutput(deps.topics.optouts, { phone: reply.from, optedOut: reply.intent === 'STOP', at: reply.receivedAt, source: `sms-reply:${reply.provider}`, text: reply.text }));
      }
      // The reply belongs to the last lead we texted at that number, if any.
      const last = await (await deps.sent()).lastToPhone(reply.from);
      if (last) {
        outputs.push(
          ...eventOutputs(deps.topics.events, [
            { leadId: last.leadId, type: 'reply', at: reply.receivedAt, stage: 'ingest', destination: `sms:${reply.provider}`, detail: reply.intent, discriminator: reply.providerMessageId ?? String(reply.receivedAt) },
          ]),
        );
      }
      await send(outputs);
    },

    async onReceipt(receipt: DeliveryReceipt): Promise<void> {
      const sent = await (await deps.sent()).byProviderMessageId(receipt.provider, receipt.providerMessageId);
      // Unknown message: possibly sent by another process a moment ago and not yet recorded.
      // Refusing (503) makes the provider retry; accepting would lose the receipt.
      if (!sent) throw new Error(`no record of ${receipt.provider} message ${receipt.providerMessageId} yet`);
      await send(
        eventOutputs(deps.topics.events, [
          {
            leadId: sent.leadId,
            type: 'status',
            at: receipt.at,
            stage: 'ingest',
            destination: `sms:${receipt.provider}`,
            detail: `${receipt.status}${receipt.errorCode ? ` (error ${receipt.errorCode})` : ''}`,
            discriminator: `${receipt.providerMessageId}:${receipt.status}`,
          },
        ]),
      );
    },
  };
}
