/**
 * What the SMS webhooks do with what providers tell us. Replies are recorded on
 * leads.sms.replies (MORE is the "send me more jobs" event data teams consume); STOP and START
 * also write the compacted opt-out list, which every route and SMS-sink process follows.
 * Everything is written with acks=all before the provider gets its 2xx, so a reply is never
 * lost (a failure answers 503 and the provider retries).
 * Delivery receipts land in the lead's history once per (provider, message, status): providers
 * repeat callbacks, and a repeat must not add a second event. A receipt for a message we have
 * no record of yet is refused (503) so the provider retries it, rather than lost.
 */
import type { Producer } from 'kafkajs';
import type { Db } from 'mongodb';
import type { Codec } from '../../kafka/codec.js';
import type { History } from '../../history/history.js';
import type { DeliveryReceipt, InboundReply } from '../../ingest/sms-webhooks-plugin.js';
import { publishOptOut, type OptOutRecord } from './optouts.js';
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
  producer: Producer;
  replyCodec: Codec<SmsReplyRecord>;
  optOutCodec: Codec<OptOutRecord>;
  topics: { smsReplies: string; optouts: string };
  sent: SentStore;
  history: Pick<History, 'record'>;
  db: Db;
}) {
  const receipts = deps.db.collection<{ _id: string; at: number }>('sms_receipts');

  return {
    async onReply(reply: InboundReply): Promise<void> {
      const record: SmsReplyRecord = { ...reply };
      await deps.producer.send({ topic: deps.topics.smsReplies, acks: -1, messages: [{ key: reply.from, value: deps.replyCodec.encode(deps.topics.smsReplies, record) }] });
      if (reply.intent === 'STOP' || reply.intent === 'START') {
        await publishOptOut(deps.producer, deps.optOutCodec, deps.topics.optouts, {
          phone: reply.from,
          optedOut: reply.intent === 'STOP',
          at: reply.receivedAt,
          source: `sms-reply:${reply.provider}`,
          text: reply.text,
        });
      }
      // The reply belongs to the last lead we texted at that number, if any.
      const last = (await deps.sent.recentByPhone([reply.from], 0)).get(reply.from);
      if (last) deps.history.record({ leadId: last._id, type: 'reply', at: reply.receivedAt, stage: 'ingest', destination: `sms:${reply.provider}`, detail: `${reply.intent}: ${reply.text.slice(0, 160)}` });
    },

    async onReceipt(receipt: DeliveryReceipt): Promise<void> {
      const sent = await deps.sent.byProviderMessageId(receipt.provider, receipt.providerMessageId);
      // Unknown message: possibly sent by another process a moment ago and not yet written.
      // Refusing (503) makes the provider retry; accepting would lose the receipt.
      if (!sent) throw new Error(`no record of ${receipt.provider} message ${receipt.providerMessageId} yet`);
      try {
        await receipts.insertOne({ _id: `${receipt.provider}:${receipt.providerMessageId}:${receipt.status}`, at: receipt.at });
      } catch (err) {
        if ((err as { code?: number }).code === 11000 || /E11000|duplicate key/i.test((err as Error).message)) return; // a repeat
        throw err;
      }
      deps.history.record({
        leadId: sent._id,
        type: 'status',
        at: receipt.at,
        stage: 'ingest',
        destination: `sms:${receipt.provider}`,
        detail: `${receipt.status}${receipt.errorCode ? ` (error ${receipt.errorCode})` : ''}`,
      });
    },
  };
}
