/**
 * What the SMS channel has sent, in MongoDB. It is how the same lead is never texted twice (a
 * redelivery after a rebalance, a retry through another provider), how the same person is not
 * texted twice within the dedup window whichever vendor or source sent them again, and how a
 * delivery receipt finds its lead.
 *
 *   sms_sent      _id = leadId                      → the text sent for that lead
 *   sms_messages  _id = provider:providerMessageId  → the lead a receipt belongs to (by _id:
 *                 FerretDB 1.x on SQLite indexes only _id; other filters are full scans)
 * It lives in a database of its own (`<history db>_sms`) so its reads never queue behind
 * history writes (on FerretDB/SQLite each database is a file with its own write lock).
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

export interface SentStoreOptions {
  /** How far back texts matter (the dedup window); older ones are forgotten in memory. */
  windowMs: number;
  /** How often texts recorded by other processes are pulled in. */
  refreshMs?: number;
  now?: () => number;
}

/**
 * Answers from memory, writes through to MongoDB. At start-up, and then every `refreshMs`,
 * texts sent within the window (by any process) are loaded; every text this process sends is
 * recorded in memory at once and written to MongoDB in batches every 250 ms. No database access
 * is on the per-lead path: on FerretDB/SQLite even `_id` lookups (~10 ms each, one writer)
 * could not keep up with 5,000 leads/min.
 * Between refreshes, two processes can each text the same phone through different providers
 * (SMS topics are keyed by phone, so within one provider one process owns a phone).
 */
export async function createSentStore(historyDb: Db, opts: SentStoreOptions): Promise<SentStore & { close(): Promise<void> }> {
  const db = historyDb.client.db(`${historyDb.databaseName}_sms`);
  const sent: Collection<SentText> = db.collection('sms_sent');
  const messages: Collection<{ _id: string; leadId: string }> = db.collection('sms_messages');
  const now = opts.now ?? Date.now;
  const byLead = new Map<string, SentText>();
  const byPhone = new Map<string, SentText>();
  const byMessage = new Map<string, string>(); // provider:providerMessageId → leadId
  let loadedUpTo = now() - opts.windowMs;

  const remember = (t: SentText) => {
    byLead.set(t._id, t);
    byMessage.set(`${t.provider}:${t.providerMessageId}`, t._id);
    const prev = byPhone.get(t.phone);
    if (!prev || prev.sentAt <= t.sentAt) byPhone.set(t.phone, t);
  };
  async function refresh(): Promise<void> {
    const from = loadedUpTo;
    loadedUpTo = now();
    for (const t of await sent.find({ sentAt: { $gte: from - 5_000 } }).toArray()) remember(t);
    const horizon = now() - opts.windowMs;
    for (const [k, t] of byLead) if (t.sentAt < horizon) byLead.delete(k);
    for (const [k, t] of byPhone) if (t.sentAt < horizon) byPhone.delete(k);
    for (const [k, leadId] of byMessage) if (!byLead.has(leadId)) byMessage.delete(k);
  }
  await refresh();
  const timer = setInterval(() => void refresh().catch(() => undefined), opts.refreshMs ?? 30_000);
  timer.unref();

  let pending: SentText[] = [];
  let flushing: Promise<void> | null = null;
  const flush = (): Promise<void> =>
    (flushing ??= (async () => {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      try {
        await Promise.all([
          sent.insertMany(batch, { ordered: false }).catch(ignoreDuplicates),
          messages.insertMany(batch.map((t) => ({ _id: `${t.provider}:${t.providerMessageId}`, leadId: t._id })), { ordered: false }).catch(ignoreDuplicates),
        ]);
      } catch {
        pending = batch.concat(pending); // try again with the next flush
      }
    })().finally(() => {
      flushing = null;
    }));
  const flusher = setInterval(() => void flush(), 250);
  flusher.unref();

  return {
    async sentLeads(leadIds) {
      return new Map(leadIds.flatMap((id) => (byLead.has(id) ? [[id, byLead.get(id)!] as const] : [])));
    },
    async recentByPhone(phoneList, since) {
      return new Map(phoneList.flatMap((p) => {
        const t = byPhone.get(p);
        return t && t.sentAt >= since ? [[p, t] as const] : [];
      }));
    },
    async record(texts) {
      // Memory first (this process's dedup is exact at once); MongoDB behind, in batches, so a
      // slow database never holds a text. A crash before the flush forgets at most ~250 ms of
      // texts: a redelivery then goes to the same provider with the same idempotency key.
      texts.forEach(remember);
      pending.push(...texts);
    },
    async byProviderMessageId(provider, providerMessageId) {
      // Memory first: a receipt can arrive before the write-behind flush.
      const key = `${provider}:${providerMessageId}`;
      const leadId = byMessage.get(key) ?? (await messages.findOne({ _id: key }))?.leadId;
      return leadId ? (byLead.get(leadId) ?? (await sent.findOne({ _id: leadId }))) : null;
    },
    async close() {
      clearInterval(timer);
      clearInterval(flusher);
      await flushing;
      await flush();
    },
  };
}

/** A duplicate `_id` means it was already recorded (a redelivery): that is the point. */
function ignoreDuplicates(err: unknown): void {
  if ((err as { code?: number }).code !== 11000 && !/E11000|duplicate key/i.test((err as Error).message)) throw err;
}
