/**
 * What the SMS channel has texted, written durably BEFORE and AFTER every provider call, in the
 * history database. It is how the same lead is never texted twice (a redelivery after a crash,
 * a retry through another provider), how the same person is not texted twice within the dedup
 * window whichever vendor sent them again, and how a receipt or a reply finds its lead.
 *
 *   sms_phones  _id = E.164 phone: { leadId, at }  which lead holds the phone for the window
 *   sms_texts   _id = leadId: { phone, provider, state, intentAt }  the intent, recorded before
 *               the call; "failed" when the provider certainly did not take it
 *   sms_sent    _id = leadId: { phone, provider, providerMessageId, sentAt }  the provider took it
 *   sms_takeovers _id = leadId@intentAt#n of a failed intent: who took it over (first insert wins)
 * A text whose intent is "sending" with no sms_sent record is uncertain (a crash or a timeout
 * mid-call): the provider is asked (adapter lookup) before anything is sent again.
 *
 * Shaped for a MongoDB-wire store that holds up (src/mongo-ops.ts): per batch, three inserts of
 * many documents (claims, intents, sent), each one statement; lookups only by _id for the few
 * documents that already existed; no upsert races (a duplicate key means someone has it), no
 * $in scans, no bulk updates. Every call has a time limit; a store that does not answer is a
 * RetriableError: the sink's batch waits, nothing is sent on a guess.
 */
import type { Collection, Db } from 'mongodb';
import pLimit from 'p-limit';
import { RetriableError, messageOf } from '../../errors.js';
import { FIRST_BATCH, deadline } from '../../mongo-ops.js';

export type TextState = 'sending' | 'sent' | 'failed';

export interface TextRecord {
  leadId: string;
  phone: string;
  provider: string;
  state: TextState;
  intentAt: number;
  providerMessageId?: string;
}

interface IntentDoc {
  _id: string;
  phone: string;
  provider: string;
  state: 'sending' | 'failed';
  intentAt: number;
}
interface SentDoc {
  _id: string;
  phone: string;
  provider: string;
  providerMessageId: string;
  sentAt: number;
}
interface PhoneClaim {
  _id: string;
  leadId: string;
  at: number;
}

export interface IntentRequest {
  leadId: string;
  phone: string;
  provider: string;
}

export interface RecordedIntents {
  existing: Map<string, TextRecord | 'taken'>;
  intentAt: number;
  /**
   * Failed intents this call took over, each stamped when its own takeover was written: after a
   * provider's outage a job's takeovers take many calls, and one stamp for all of them put the
   * last ones past their send window before they were even recorded (chaos: 100 of 100 stale).
   */
  takenOverAt?: Map<string, number>;
}

export interface SentStore {
  /**
   * Claims each phone for its lead for the window. Returns, per phone it did not newly claim, the
   * lead that holds it: another lead (this one loses the phone), or the same lead, which claimed
   * it before (a redelivery: its text likely has an intent already). A claim older than the
   * window is taken over.
   */
  claimPhones(claims: { phone: string; leadId: string }[], now: number, windowMs: number): Promise<Map<string, string>>;
  /**
   * Records the intent to text, before the call. Returns what was already recorded for the leads
   * that had a record: sent, sending (uncertain, or in flight elsewhere) or "taken" (another
   * process took over a failed text meanwhile). A "failed" text is taken over for this provider.
   * Intents are stamped with clock() when written (not when queued); `intentAt` is the earliest
   * stamp: a caller that sends only within a window of it is inside the window of every one.
   * Leads in `recordedBefore` (their phone claim was theirs already) are read before any insert:
   * a duplicate in an insert makes FerretDB write it one transaction per document.
   */
  recordIntents(texts: IntentRequest[], clock: () => number, recordedBefore?: ReadonlySet<string>): Promise<RecordedIntents>;
  markSent(texts: { leadId: string; phone: string; provider: string; providerMessageId: string; sentAt: number }[]): Promise<void>;
  /**
   * Certainly not sent: another provider may take it, and the phone is free again. Only the
   * intent that was ours (provider and stamp): a late failure must not flip an intent another
   * owner has taken over since, or a third would take it over too and text the person again.
   */
  markFailed(texts: { leadId: string; phone: string; provider: string; intentAt: number }[]): Promise<void>;
  /**
   * Never sent (the job was abandoned before their calls): the intents are removed as if never
   * written, and their phones' claims with them, so the next owner records them as new texts in
   * one insert. Marked failed, each cost the next owner a takeover (reads, a unique insert, an
   * update: five calls a text), which after a rebalance held its job past the texts' send window.
   * Only the intent that was ours (provider and stamp), as for markFailed.
   */
  withdraw(texts: { leadId: string; phone: string; provider: string; intentAt: number }[]): Promise<void>;
  byProviderMessageId(provider: string, providerMessageId: string): Promise<TextRecord | null>;
  /** The latest text to a phone (a reply belongs to it). */
  lastToPhone(phone: string): Promise<TextRecord | null>;
}

/** Long: a retry issued while the first attempt still runs would double the work (see src/history/store.ts). */
const OP_TIMEOUT_MS = 60_000;
/** A takeover claim whose intent is still failed this long after: its taker died; the next may try. */
const TAKEOVER_CLAIM_MS = 120_000;
/** Calls at once: the MongoDB client's pool is 8 (src/history/store.ts), shared with caps and the ledger. */
const POOL_SIZE = 6;

const duplicateIndexes = (err: unknown): Set<number> => {
  const writeErrors = ((err as { writeErrors?: { code?: number; index: number }[] }).writeErrors ?? []) as { code?: number; index: number }[];
  // No per-document errors (a timeout, a lost connection) or a duplicate we cannot place:
  // nothing is known about what was written, so the caller retries.
  if (writeErrors.length === 0) throw err;
  if (!writeErrors.every((w) => w.code === 11000)) throw err;
  return new Set(writeErrors.map((w) => w.index));
};

/** The few documents that already existed are read one by one, by _id, a few at a time. */
const reads = pLimit(8);
async function each<T, R>(list: T[], op: (item: T) => Promise<R>): Promise<R[]> {
  return Promise.all(list.map((item) => reads(() => op(item))));
}

/**
 * Every call to the store has its own time limit, not the whole operation: a batch of a
 * thousand claims after a backlog is many calls, and one limit over all of them expired before
 * the work was done, so each retry redid it all (and more, now duplicates) and never finished.
 * The clock starts when the call gets a connection, not when it is queued: with the deliver
 * stages' jobs in flight at once, calls waiting for one of the pool's connections timed out in
 * the queue, were retried as duplicates (each a transaction of its own on FerretDB) and made the
 * queue longer still (chaos run 5). Calls wait for a slot here, one per pooled connection.
 */
const slots = pLimit(POOL_SIZE);
const call = <R>(what: string, op: () => Promise<R>): Promise<R> => slots(() => deadline(`SMS store ${what}`, OP_TIMEOUT_MS, op()));

/** Turns a database failure into "wait and try again": a text is never sent on a guess. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RetriableError) throw err;
    throw new RetriableError(`SMS store ${what}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Inserts in chunks of 100: FerretDB answers a chunk holding one duplicate by inserting each of
 * its documents in a transaction of its own. Returns the indexes (in docs) that already existed.
 */
async function insertAll<D extends { _id: string }>(col: Collection<D>, count: number, make: (i: number) => D): Promise<Set<number>> {
  const existing = new Set<number>();
  for (let start = 0; start < count; start += 100) {
    // Documents are made when the call gets its connection, so a time they hold is when they were written.
    const chunk = () => Array.from({ length: Math.min(100, count - start) }, (_, k) => make(start + k));
    try {
      await call(`insert into ${col.collectionName}`, () => col.insertMany(chunk() as unknown as Parameters<Collection<D>['insertMany']>[0], { ordered: false }));
    } catch (err) {
      for (const i of duplicateIndexes(err)) existing.add(start + i);
    }
  }
  return existing;
}

const fromSent = (s: SentDoc): TextRecord => ({ leadId: s._id, phone: s.phone, provider: s.provider, state: 'sent', intentAt: s.sentAt, providerMessageId: s.providerMessageId });

export async function openSentStore(db: Db): Promise<SentStore> {
  const intents: Collection<IntentDoc> = db.collection('sms_texts');
  const sent: Collection<SentDoc> = db.collection('sms_sent');
  const phones: Collection<PhoneClaim> = db.collection('sms_phones');
  const takeovers: Collection<{ _id: string; at: number }> = db.collection('sms_takeovers');
  await sent.createIndex({ providerMessageId: 1, provider: 1 }, { name: 'provider_message' });
  await sent.createIndex({ phone: 1, sentAt: -1 }, { name: 'phone_sent' });

  /**
   * One winner per failed intent. A winner that died before writing its intent leaves its claim
   * behind, the intent still failed: after TAKEOVER_CLAIM_MS the next claim number is open.
   */
  async function winTakeover(id: string, clock: () => number): Promise<boolean> {
    for (let k = 1; k <= 5; k++) {
      const at = clock();
      const lost = await insertAll(takeovers, 1, () => ({ _id: `${id}#${k}`, at }));
      if (lost.size === 0) return true;
      const claim = await call('read', () => takeovers.findOne({ _id: `${id}#${k}` }));
      if (claim && at - claim.at < TAKEOVER_CLAIM_MS) return false;
    }
    return false;
  }

  /**
   * For each text whose intent is still ours (provider and stamp), `change` it and free its
   * phone; one taken over meanwhile is left alone, and so is its phone: it is theirs now.
   */
  function releaseOurs(what: string, list: { leadId: string; phone: string; provider: string; intentAt: number }[], change: (mine: Pick<IntentDoc, '_id' | 'state' | 'provider' | 'intentAt'>) => Promise<boolean>): Promise<void> {
    return guarded(what, async () => {
      await each(list, async (t) => {
        if (!(await call(what, () => change({ _id: t.leadId, state: 'sending', provider: t.provider, intentAt: t.intentAt })))) return;
        await call('phone release', () => phones.deleteOne({ _id: t.phone, leadId: t.leadId }));
      });
    });
  }

  async function recordOf(leadId: string): Promise<TextRecord | null> {
    const [s, i] = await Promise.all([call('read', () => sent.findOne({ _id: leadId })), call('read', () => intents.findOne({ _id: leadId }))]);
    if (s) return fromSent(s);
    return i ? { leadId, phone: i.phone, provider: i.provider, state: i.state, intentAt: i.intentAt } : null;
  }

  return {
    claimPhones: (claims, now, windowMs) =>
      guarded('phone claim', async () => {
        const lost = new Map<string, string>();
        const taken = await insertAll(phones, claims.length, (i) => ({ _id: claims[i]!.phone, leadId: claims[i]!.leadId, at: now }));
        await each([...taken].map((i) => claims[i]!), async (claim) => {
          const holder = await call('read', () => phones.findOne({ _id: claim.phone }));
          if (!holder) return; // just released
          if (holder.leadId === claim.leadId) return void lost.set(claim.phone, claim.leadId); // ours already: a redelivery
          if (holder.at >= now - windowMs) return void lost.set(claim.phone, holder.leadId);
          // Expired: one taker per expired claim, decided by a unique insert (see winTakeover).
          if (!(await winTakeover(`${claim.phone}@${holder.at}`, () => now))) return void lost.set(claim.phone, 'another lead');
          await call('phone takeover', () => phones.updateOne({ _id: claim.phone }, { $set: { leadId: claim.leadId, at: now } }));
        });
        return lost;
      }),

    recordIntents: (requested, clock, recordedBefore) =>
      guarded('intent', async () => {
        const existing = new Map<string, TextRecord | 'taken'>();
        const takenOverAt = new Map<string, number>();
        // One stamp for the whole operation, taken when its first write gets its connection: the
        // caller's window and everyone else's wait are counted from the same value.
        let first: number | undefined;
        const stamp = () => (first ??= clock());
        const intentOf = (t: IntentRequest): IntentDoc => ({ _id: t.leadId, phone: t.phone, provider: t.provider, state: 'sending', intentAt: stamp() });
        // One insert per call: the SMS sink records texts tried before (fallbacks, retries) in a
        // call of their own, since one duplicate makes FerretDB write a whole insert chunk one
        // transaction per document.
        // Read first where a record is likely; whatever has none joins the insert.
        const readFirst = requested.filter((t) => recordedBefore?.has(t.leadId));
        const records = new Map<string, TextRecord>();
        await each(readFirst, async (t) => {
          const record = await recordOf(t.leadId);
          if (record) records.set(t.leadId, record);
        });
        const list = requested.filter((t) => !records.has(t.leadId));
        const dups = await insertAll(intents, list.length, (i) => intentOf(list[i]!));
        const known = [...requested.filter((t) => records.has(t.leadId)), ...[...dups].map((i) => list[i]!)];
        await each(known, async (t) => {
          const record = records.get(t.leadId) ?? (await recordOf(t.leadId));
          if (!record) {
            // Withdrawn between our insert and this read (its job was abandoned unsent): written
            // again, stamped when written; someone else's insert meanwhile makes it theirs.
            const at = clock();
            const lost = await insertAll(intents, 1, () => ({ ...intentOf(t), intentAt: at }));
            return void (lost.size === 0 ? takenOverAt.set(t.leadId, at) : existing.set(t.leadId, 'taken'));
          }
          if (record.state !== 'failed') return void existing.set(t.leadId, record);
          // Certainly not sent before: this provider takes it over, unless another process just
          // did. Who takes over that failed intent is decided by a unique insert, not by a
          // conditional update: on FerretDB 1.x that is a read then a write, and two takers both
          // "won" it and both sent the text.
          if (!(await winTakeover(`${t.leadId}@${record.intentAt}`, clock))) return void existing.set(t.leadId, 'taken');
          await call('intent takeover', () => {
            const at = clock();
            takenOverAt.set(t.leadId, at);
            return intents.updateOne({ _id: t.leadId }, { $set: { provider: t.provider, state: 'sending', intentAt: at } });
          });
        });
        return { existing, intentAt: first ?? clock(), takenOverAt };
      }),

    markSent: (list) =>
      guarded('sent', async () => {
        // A duplicate means it was recorded already (a redelivery confirmed by lookup): that is the point.
        await insertAll(sent, list.length, (i) => ({ _id: list[i]!.leadId, phone: list[i]!.phone, provider: list[i]!.provider, providerMessageId: list[i]!.providerMessageId, sentAt: list[i]!.sentAt }));
      }),

    markFailed: (list) => releaseOurs('failed', list, async (mine) => (await intents.updateOne(mine, { $set: { state: 'failed' } })).modifiedCount > 0),

    withdraw: (list) => releaseOurs('withdraw', list, async (mine) => (await intents.deleteOne(mine)).deletedCount > 0),

    byProviderMessageId: (provider, providerMessageId) =>
      guarded('read', async () => {
        const s = await call('read', () => sent.findOne({ providerMessageId, provider }));
        return s ? fromSent(s) : null;
      }),

    lastToPhone: (phone) =>
      guarded('read', async () => {
        const [s] = await call('read', () => sent.find({ phone }, { batchSize: FIRST_BATCH }).sort({ sentAt: -1 }).limit(1).toArray());
        return s ? fromSent(s) : null;
      }),
  };
}
