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
 *
 * This file is the MongoDB implementation; the contract it meets is sent-store-contract.ts and
 * how each call is made (time limits, pool slots, chunked inserts) is sent-store-calls.ts.
 */
import type { Collection, Db } from 'mongodb';
import { FIRST_BATCH } from '../../mongo-ops.js';
import { call, each, guarded, insertAll } from './sent-store-calls.js';
import type { IntentRequest, PhoneRelease, SentStore, StopSignal, TextRecord } from './sent-store-contract.js';
import { Abandoned } from '../../errors.js';

// The contract lives in sent-store-contract.ts; importers keep importing it from here.
export type { IntentRequest, PhoneRelease, RecordedIntents, SentStore, StopSignal, TextRecord, TextState } from './sent-store-contract.js';

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

/** A takeover claim whose intent is still failed this long after: its taker died; the next may try. */
const TAKEOVER_CLAIM_MS = 120_000;

function stopIf(stop: StopSignal | undefined, where: string): void {
  if (stop?.()) throw new Abandoned(where);
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
  function releaseOurs(
    what: string,
    list: { leadId: string; phone: string; provider: string; intentAt: number }[],
    change: (mine: Pick<IntentDoc, '_id' | 'state' | 'provider' | 'intentAt'>) => Promise<boolean>,
    release: PhoneRelease = (free) => free(),
  ): Promise<void> {
    return guarded(what, async () => {
      await each(list, async (t) => {
        if (!(await call(what, () => change({ _id: t.leadId, state: 'sending', provider: t.provider, intentAt: t.intentAt })))) return;
        await release(() => call('phone release', () => phones.deleteOne({ _id: t.phone, leadId: t.leadId })));
      });
    });
  }

  async function recordOf(leadId: string): Promise<TextRecord | null> {
    const [s, i] = await Promise.all([call('read', () => sent.findOne({ _id: leadId })), call('read', () => intents.findOne({ _id: leadId }))]);
    if (s) return fromSent(s);
    return i ? { leadId, phone: i.phone, provider: i.provider, state: i.state, intentAt: i.intentAt } : null;
  }

  return {
    claimPhones: (claims, now, windowMs, stop) =>
      guarded('phone claim', async () => {
        const lost = new Map<string, string>();
        const taken = await insertAll(phones, claims.length, (i) => ({ _id: claims[i]!.phone, leadId: claims[i]!.leadId, at: now }));
        await each([...taken].map((i) => claims[i]!), async (claim) => {
          stopIf(stop, 'while reading phone claims');
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

    recordIntents: (requested, clock, recordedBefore, stop) =>
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
          stopIf(stop, 'while reading texts tried before'); // nothing written yet by this call
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

    markFailed: (list, release) => releaseOurs('failed', list, async (mine) => (await intents.updateOne(mine, { $set: { state: 'failed' } })).modifiedCount > 0, release),

    withdraw: (list, release) => releaseOurs('withdraw', list, async (mine) => (await intents.deleteOne(mine)).deletedCount > 0, release),

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
