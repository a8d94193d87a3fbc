/**
 * What the SMS channel has texted, written durably BEFORE and AFTER every provider call, in the
 * history database. It is how the same lead is never texted twice (a redelivery after a crash,
 * a retry through another provider), how the same person is not texted twice within the dedup
 * window whichever vendor sent them again, and how a receipt or a reply finds its lead.
 *
 *   sms_texts   _id = leadId: { phone, provider, state, intentAt, sentAt?, providerMessageId? }
 *               state "sending": recorded before the call; if it is still "sending" when the lead
 *               comes back, the call's outcome is unknown (a crash, a timeout) and the provider
 *               is asked (adapter lookup) before anything is sent again.
 *               state "sent" / "failed": the provider took it / certainly did not.
 *   sms_phones  _id = E.164 phone: { leadId, at } — which lead holds the phone for the window.
 *
 * Every write is an insert (a duplicate key means someone has it) or a conditional update (only
 * from a known state), so processes never race an upsert. Every call has a time limit, and a
 * store that does not answer is a RetriableError: the sink's batch waits, nothing is sent blind.
 */
import type { Collection, Db } from 'mongodb';
import pLimit from 'p-limit';
import { RetriableError, messageOf } from '../../errors.js';
import { FIRST_BATCH, deadline } from '../../mongo-ops.js';

export type TextState = 'sending' | 'sent' | 'failed';

export interface TextRecord {
  _id: string; // leadId
  phone: string;
  provider: string;
  state: TextState;
  intentAt: number;
  sentAt?: number;
  providerMessageId?: string;
}

interface PhoneClaim {
  _id: string; // phone
  leadId: string;
  at: number;
}

export interface SentStore {
  /** The texts already recorded for these leads (any provider, any state). */
  texts(leadIds: string[]): Promise<Map<string, TextRecord>>;
  /**
   * Claims each phone for its lead for the window. Returns, per phone it could not claim, the
   * lead that holds it. A claim older than the window, or one by the same lead, is taken over.
   */
  claimPhones(claims: { phone: string; leadId: string }[], now: number, windowMs: number): Promise<Map<string, string>>;
  /**
   * Records the intent to text, before the call. A lead already recorded "failed" (certainly not
   * sent) is taken over; leads returned were taken by someone else meanwhile: do not send them.
   */
  recordIntents(texts: { leadId: string; phone: string; provider: string }[], now: number): Promise<Set<string>>;
  markSent(texts: { leadId: string; provider: string; providerMessageId: string; sentAt: number }[]): Promise<void>;
  /** Certainly not sent: another provider may take it, and the phone is free again. */
  markFailed(texts: { leadId: string; phone: string }[]): Promise<void>;
  byProviderMessageId(provider: string, providerMessageId: string): Promise<TextRecord | null>;
  /** The latest text to a phone (a reply belongs to it). */
  lastToPhone(phone: string): Promise<TextRecord | null>;
}

const OP_TIMEOUT_MS = 10_000;

/**
 * One command per document, a few at a time. Not bulkWrite: FerretDB 1.x takes a PostgreSQL
 * connection per statement of a bulk command and holds them to its end, so a handful of
 * concurrent bulk updates exhausts its pool and every later operation waits forever.
 */
const writes = pLimit(8);
async function each<T>(list: T[], op: (item: T) => Promise<unknown>): Promise<void> {
  await Promise.all(list.map((item) => writes(() => op(item))));
}

const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000 || /E11000|duplicate key/i.test(messageOf(err));
const duplicateIndexes = (err: unknown): Set<number> => {
  const writeErrors = ((err as { writeErrors?: { code?: number; index: number }[] }).writeErrors ?? []) as { code?: number; index: number }[];
  if (writeErrors.length === 0 && isDuplicate(err)) throw err; // cannot tell which: let the caller retry
  if (!writeErrors.every((w) => w.code === 11000)) throw err;
  return new Set(writeErrors.map((w) => w.index));
};

/** Turns a database failure into "wait and try again": a text is never sent on a guess. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await deadline(`SMS store ${what}`, OP_TIMEOUT_MS, fn());
  } catch (err) {
    if (err instanceof RetriableError) throw err;
    throw new RetriableError(`SMS store ${what}: ${messageOf(err)}`, { cause: err });
  }
}

export async function openSentStore(db: Db): Promise<SentStore> {
  const texts: Collection<TextRecord> = db.collection('sms_texts');
  const phones: Collection<PhoneClaim> = db.collection('sms_phones');
  await texts.createIndex({ provider: 1, providerMessageId: 1 }, { name: 'provider_message' });
  await texts.createIndex({ phone: 1, intentAt: -1 }, { name: 'phone_intent' });

  async function insertAll<D extends { _id: string }>(col: Collection<D>, docs: D[]): Promise<Set<number>> {
    if (docs.length === 0) return new Set();
    try {
      await col.insertMany(docs as unknown as Parameters<Collection<D>["insertMany"]>[0], { ordered: false });
      return new Set();
    } catch (err) {
      return duplicateIndexes(err);
    }
  }

  return {
    texts: (leadIds) =>
      guarded('read', async () => {
        if (leadIds.length === 0) return new Map();
        const found = await texts.find({ _id: { $in: leadIds } }, { batchSize: FIRST_BATCH }).toArray();
        return new Map(found.map((t) => [t._id, t]));
      }),

    claimPhones: (claims, now, windowMs) =>
      guarded('phone claim', async () => {
        const lost = new Map<string, string>();
        const taken = await insertAll(phones, claims.map((c) => ({ _id: c.phone, leadId: c.leadId, at: now })));
        for (const i of taken) {
          const claim = claims[i]!;
          const holder = await phones.findOne({ _id: claim.phone });
          if (!holder || holder.leadId === claim.leadId) continue; // ours already (a redelivery), or just released
          if (holder.at >= now - windowMs) {
            lost.set(claim.phone, holder.leadId);
            continue;
          }
          // Expired: take it over only from exactly what we read, so two takers cannot both win.
          const res = await phones.updateOne({ _id: claim.phone, leadId: holder.leadId, at: holder.at }, { $set: { leadId: claim.leadId, at: now } });
          if (res.modifiedCount === 0) lost.set(claim.phone, (await phones.findOne({ _id: claim.phone }))?.leadId ?? 'another lead');
        }
        return lost;
      }),

    recordIntents: (list, now) =>
      guarded('intent', async () => {
        const taken = new Set<string>();
        const dups = await insertAll(texts, list.map((t) => ({ _id: t.leadId, phone: t.phone, provider: t.provider, state: 'sending' as const, intentAt: now })));
        for (const i of dups) {
          const t = list[i]!;
          const res = await texts.updateOne({ _id: t.leadId, state: 'failed' }, { $set: { provider: t.provider, state: 'sending', intentAt: now } });
          if (res.modifiedCount === 0) taken.add(t.leadId);
        }
        return taken;
      }),

    markSent: (list) =>
      guarded('sent', () =>
        each(list, (t) => texts.updateOne({ _id: t.leadId }, { $set: { state: 'sent' as const, provider: t.provider, providerMessageId: t.providerMessageId, sentAt: t.sentAt } })),
      ),

    markFailed: (list) =>
      guarded('failed', () =>
        each(list, async (t) => {
          await texts.updateOne({ _id: t.leadId, state: 'sending' as const }, { $set: { state: 'failed' as const } });
          await phones.deleteOne({ _id: t.phone, leadId: t.leadId });
        }),
      ),

    byProviderMessageId: (provider, providerMessageId) => guarded('read', () => texts.findOne({ provider, providerMessageId })),
    lastToPhone: (phone) => guarded('read', async () => (await texts.find({ phone }, { batchSize: 1 }).sort({ intentAt: -1 }).limit(1).toArray())[0] ?? null),
  };
}
