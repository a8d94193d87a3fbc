/**
 * What the SMS channel has sent, in MongoDB (`sms_sent`, one document per lead). It is how the
 * same lead is never texted twice (a redelivery after a rebalance, a retry through another
 * provider) and how the same person is not texted twice within the dedup window whichever
 * vendor or source sent them again. Delivery receipts find their lead here by provider id.
 * Reads and writes are one query per batch, not per lead.
 */
import type { Collection, Db } from 'mongodb';

export interface SentText {
  _id: string; // leadId
  phone: string;
  provider: string;
  providerMessageId: string;
  sentAt: number;
}

export interface SentStore {
  /** Leads of this batch that were already texted (by any provider). */
  sentLeads(leadIds: string[]): Promise<Map<string, SentText>>;
  /** The latest text to each phone since `since`. */
  recentByPhone(phones: string[], since: number): Promise<Map<string, SentText>>;
  record(texts: SentText[]): Promise<void>;
  byProviderMessageId(provider: string, providerMessageId: string): Promise<SentText | null>;
}

/**
 * `historyDb` is the lead-history database; the store lives in a database of its own beside it
 * (`<name>_sms`) so its reads never queue behind history writes (on FerretDB/SQLite each
 * database is its own file with its own write lock).
 */
export async function createSentStore(historyDb: Db): Promise<SentStore> {
  const db = historyDb.client.db(`${historyDb.databaseName}_sms`);
  const sent: Collection<SentText> = db.collection('sms_sent');
  await sent.createIndex({ phone: 1, sentAt: -1 });
  await sent.createIndex({ provider: 1, providerMessageId: 1 });
  return {
    async sentLeads(leadIds) {
      if (leadIds.length === 0) return new Map();
      const docs = await sent.find({ _id: { $in: leadIds } }).toArray();
      return new Map(docs.map((d) => [d._id, d]));
    },
    async recentByPhone(phones, since) {
      if (phones.length === 0) return new Map();
      const docs = await sent.find({ phone: { $in: phones }, sentAt: { $gte: since } }).sort({ sentAt: -1 }).toArray();
      const latest = new Map<string, SentText>();
      for (const d of docs) if (!latest.has(d.phone)) latest.set(d.phone, d);
      return latest;
    },
    async record(texts) {
      if (texts.length === 0) return;
      try {
        await sent.insertMany(texts, { ordered: false });
      } catch (err) {
        // Duplicate _id means it was already recorded (a redelivery): that is the point.
        if ((err as { code?: number }).code !== 11000 && !/E11000|duplicate key/i.test((err as Error).message)) throw err;
      }
    },
    byProviderMessageId: (provider, providerMessageId) => sent.findOne({ provider, providerMessageId }),
  };
}
