/**
 * The SentStore contract: what the SMS channel records about each text it sends, and the
 * operations the sink relies on to never text a lead or a person twice. Apart from the MongoDB
 * implementation (sent-store.ts) so that it can be read on its own, and implemented in memory for
 * the sink's tests (test/support/memory-sent-store.ts). Importers use sent-store.ts, which
 * re-exports it.
 */
export type TextState = 'sending' | 'sent' | 'failed';

export interface TextRecord {
  leadId: string;
  phone: string;
  provider: string;
  state: TextState;
  intentAt: number;
  providerMessageId?: string;
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

/**
 * True once the caller's job is abandoned (its partitions are being taken away): the reads that
 * come before any write of the call stop there and it throws Abandoned. Its phone claims stay
 * the lead's, which its next owner reads as its own. After a kill, a survivor's first jobs are
 * the dead process's texts, read one by one (3-4 calls a text, 15-21 s a job of 100 on the
 * loaded chaos machine), and the group's rebalance waited for them (chaos: 9 s).
 */
export type StopSignal = () => boolean;

export interface SentStore {
  /**
   * Claims each phone for its lead for the window. Returns, per phone it did not newly claim, the
   * lead that holds it: another lead (this one loses the phone), or the same lead, which claimed
   * it before (a redelivery: its text likely has an intent already). A claim older than the
   * window is taken over.
   */
  claimPhones(claims: { phone: string; leadId: string }[], now: number, windowMs: number, stop?: StopSignal): Promise<Map<string, string>>;
  /**
   * Records the intent to text, before the call. Returns what was already recorded for the leads
   * that had a record: sent, sending (uncertain, or in flight elsewhere) or "taken" (another
   * process took over a failed text meanwhile). A "failed" text is taken over for this provider.
   * Intents are stamped with clock() when written (not when queued); `intentAt` is the earliest
   * stamp: a caller that sends only within a window of it is inside the window of every one.
   * Leads in `recordedBefore` (their phone claim was theirs already) are read before any insert:
   * a duplicate in an insert makes FerretDB write it one transaction per document.
   */
  recordIntents(texts: IntentRequest[], clock: () => number, recordedBefore?: ReadonlySet<string>, stop?: StopSignal): Promise<RecordedIntents>;
  markSent(texts: { leadId: string; phone: string; provider: string; providerMessageId: string; sentAt: number }[]): Promise<void>;
  /**
   * Certainly not sent: another provider may take it, and the phone is free again. Only the
   * intent that was ours (provider and stamp): a late failure must not flip an intent another
   * owner has taken over since, or a third would take it over too and text the person again.
   */
  markFailed(texts: { leadId: string; phone: string; provider: string; intentAt: number }[], release?: PhoneRelease): Promise<void>;
  /**
   * Never sent (the job was abandoned before their calls): the intents are removed as if never
   * written, and their phones' claims with them, so the next owner records them as new texts in
   * one insert. Marked failed, each cost the next owner a takeover (reads, a unique insert, an
   * update: five calls a text), which after a rebalance held its job past the texts' send window.
   * Only the intent that was ours (provider and stamp), as for markFailed.
   */
  withdraw(texts: { leadId: string; phone: string; provider: string; intentAt: number }[], release?: PhoneRelease): Promise<void>;
  byProviderMessageId(provider: string, providerMessageId: string): Promise<TextRecord | null>;
  /** The latest text to a phone (a reply belongs to it). */
  lastToPhone(phone: string): Promise<TextRecord | null>;
}

/**
 * How markFailed and withdraw free a phone's claim once its text is certainly not sent: the
 * caller runs `free` (default), or answers without it. The SMS sink skips it once its batch is
 * abandoned: another owner may be handling the same lead by then (a crashed consumer's job still
 * runs while its restart works the same partitions), and a phone freed after that owner texted
 * the lead went to the person's second lead (chaos at 3b828c8, where abandoned jobs finished in
 * the background: 6 people texted twice). Kept, the claim still belongs to the lead, whose next
 * pass uses it as its own.
 */
export type PhoneRelease = (free: () => Promise<unknown>) => Promise<unknown>;
