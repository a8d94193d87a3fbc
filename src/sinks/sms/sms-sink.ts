/**
 * The SMS channel for one provider (one topic and consumer group per provider). For each lead,
 * in this order, because each check is cheaper and more final than the next:
 *   1. opt-out list not readable → wait (the batch is retried): never text on a partial list
 *   2. no E.164 phone            → dead
 *   3. opted out (leads.optouts) → skipped (suppressed): never a text after STOP
 *   4. outside quiet hours       → defer until the local window opens
 *   5. circuit open              → fallback to the next provider (or retry later)
 *   6. phone texted recently     → skipped (duplicate of that lead), within the dedup window
 *   7. the intent recorded durably; a lead that already had one is a redelivery: already texted
 *      → delivered; a text whose outcome was never learned (crash or timeout mid-call) → ask the
 *      provider: sent → delivered, not sent → retried, cannot tell → retry later. Never re-sent blind.
 *   8. the provider call; the outcome recorded durably before the batch commits. A certain
 *      failure may fall back to the next provider; an uncertain one (the provider may have it)
 *      waits for a lookup on the next attempt instead.
 * A job told that it no longer matters (its group is rebalancing: every partition of the group
 * waits for it) stops starting calls: what was sent is recorded as sent, what was not is withdrawn
 * (the next owner sends it at once, no lookup needed), and it throws Abandoned. Its phones stay
 * claimed by their leads: after a consumer crash the next owner may be texting them already.
 */
import pLimit from 'p-limit';
import { Abandoned, RetriableError } from '../../errors.js';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import type { DeliveryOutcome, DeliverySignal, Sink } from '../sink.js';
import { metrics } from '../../metrics.js';
import type { SmsAdapter, SmsSendResult } from './adapters/adapter.js';
import type { ProviderCircuit } from './breaker.js';
import type { QuietWindows } from './quiet-hours.js';
import { admitThroughCircuit, oncePerPerson, screenLeads, triedBefore, type Candidate } from './screen.js';
import { STALE } from './rate-limit.js';
import type { PhoneRelease, SentStore } from './sent-store.js';
import { SentHere } from './sent-here.js';
import { createRedeliveryResolver, masked } from './redelivery.js';

export interface SmsSinkOptions {
  provider: string;
  adapter: SmsAdapter;
  /** Every configured provider's adapter, to ask the one that may have sent a text. */
  adapterFor(provider: string): SmsAdapter | undefined;
  compose(lead: LeadEvent): string;
  optOuts: { isOptedOut(phone: string): boolean; readable(): boolean };
  /** Whether this number may be texted at all for this lead (mobile, in market); reason when not. */
  eligible?(lead: LeadEvent): { allowed: true } | { allowed: false; reason: string };
  sent: SentStore;
  circuit: ProviderCircuit;
  quietHours: QuietWindows;
  dedupWindowMs: number;
  now: () => number;
  /** Where the provider should POST delivery receipts, if we have a public URL. */
  statusCallbackUrl?: string;
  concurrency?: number;
  /** Texts this process recorded as sent (shared by its providers' sinks): redeliveries answered without the store. */
  sentHere?: SentHere;
  /** Told about a job slower than SLOW_JOB_MS, with where its time went (why SMS stood still). */
  onSlowJob?(report: SlowSmsJob): void;
}

/** Where a slow job's time went: counts and milliseconds per phase. */
export interface SlowSmsJob {
  provider: string;
  texts: number;
  claimMs: number;
  intentMs: number;
  sendMs: number;
  recordMs: number;
  sent: number;
  redelivered: number;
  lookedUp: number;
  stale: number;
}

/** A job slower than this holds its partitions' texts that long: worth a log line. */
const SLOW_JOB_MS = 5000;

/** One text's call and the intent stamp its send window and any later "failed" mark belong to. */
interface Sent {
  c: Candidate;
  result: SmsSendResult;
  intentAt: number;
  unsent?: true;
}

/**
 * The other half of the in-flight rule (IN_FLIGHT_MS in src/sinks/sms/redelivery.ts: another
 * owner waits that long before asking the provider): a text is sent only within this long of its
 * intent. Past it, the call is not made (the lead is retried and goes through the lookup), so a
 * text held up behind a slow store or the provider's pacing cannot go out after another owner
 * looked, found nothing and sent it (83 people texted twice in chaos run 5). Plus the provider
 * timeout, within IN_FLIGHT_MS.
 */
const SEND_WITHIN_MS = 15_000;

export function createSmsSink(opts: SmsSinkOptions): Sink {
  const limit = pLimit(opts.concurrency ?? 32);
  const lookups = pLimit(8);
  const destination = `sms:${opts.provider}`;
  const sentHere = opts.sentHere ?? new SentHere();
  const resolveRedelivery = createRedeliveryResolver({ provider: opts.provider, adapter: opts.adapter, adapterFor: opts.adapterFor, sent: opts.sent, sentHere, now: opts.now });

  function afterFailure(lead: LeadEvent, result: Extract<SmsSendResult, { ok: false }>): DeliveryOutcome {
    const error = `${opts.provider}: ${result.error}`;
    if (result.uncertain) return { status: 'retry', error: `${error} (the provider may have the text: checked before any resend)` };
    if (!result.retriable) return { status: 'dead', reason: error };
    const fallback = lead.delivery?.fallbacks[0];
    return fallback ? { status: 'fallback', error, next: fallback } : { status: 'retry', error };
  }

  async function deliver(leads: LeadEvent[], signal?: DeliverySignal): Promise<DeliveryOutcome[]> {
    if (!opts.optOuts.readable()) throw new RetriableError('opt-out list not readable: no texting until it is');
    const abandoned = () => signal?.abandoned() ?? false;
    // A phone is freed only while this job still owns its leads (PhoneRelease in
    // src/sinks/sms/sent-store-contract.ts): once abandoned, another owner may be texting them.
    const release: PhoneRelease = (free) => (abandoned() ? Promise.resolve() : free());
    const now = opts.now();
    const outcomes: (DeliveryOutcome | undefined)[] = new Array(leads.length);
    const screened = screenLeads(leads, opts, sentHere, now, outcomes);
    // Every lead answered already (suppressed, deferred, texted here before): no store call.
    if (screened.length === 0) return outcomes.map((o) => o!);
    const candidates = admitThroughCircuit(screened, opts.circuit, opts.provider, outcomes);
    if (candidates.length === 0) return outcomes.map((o) => o!);
    const unique = oncePerPerson(candidates, outcomes);
    if (abandoned()) throw new Abandoned('before any phone was claimed');
    const started = opts.now();
    let lookedUp = 0;
    const held = await opts.sent.claimPhones(unique.map((c) => ({ phone: c.to, leadId: c.lead.leadId })), now, opts.dedupWindowMs, abandoned);
    // A phone this lead had claimed before: a redelivery (another owner crashed or lost the
    // partition mid-job), whose intent is likely recorded already.
    const redelivery = new Set(unique.filter((c) => held.get(c.to) === c.lead.leadId).map((c) => c.lead.leadId));
    const claimed = unique.filter((c) => {
      const holder = held.get(c.to);
      if (holder && holder !== c.lead.leadId) outcomes[c.i] = { status: 'skipped', as: 'duplicate', reason: `duplicate of lead ${holder}: phone texted within the dedup window` };
      return !holder || holder === c.lead.leadId;
    });

    if (abandoned()) throw new Abandoned('before any intent was recorded');
    const claimedAt = opts.now();
    let intentsAt = claimedAt;
    let redelivered = 0;

    /**
     * Records the intents of one group of texts, durably, before any call, then sends the new
     * ones. A lead that already had an intent is a redelivery: it was texted, is being texted
     * elsewhere right now, or its outcome was never learned (ask). Never throws: what was sent
     * must be recorded below whatever else failed.
     */
    async function recordAndSend(group: Candidate[]): Promise<{ results: Sent[]; error?: unknown }> {
      let recorded: Awaited<ReturnType<SentStore['recordIntents']>>;
      try {
        recorded = await opts.sent.recordIntents(group.map((c) => ({ leadId: c.lead.leadId, phone: c.to, provider: opts.provider })), opts.now, redelivery, abandoned);
      } catch (error) {
        return { results: [], error };
      }
      const { existing } = recorded;
      intentsAt = Math.max(intentsAt, opts.now());
      redelivered += existing.size;
      // New intents are sent at once; redeliveries are resolved alongside, not before them: a slow
      // lookup must not hold fresh texts past their window (SEND_WITHIN_MS).
      const sending = group.filter((c) => !existing.has(c.lead.leadId));
      const resolving = Promise.all(
        group.map((c) => {
          const k = existing.get(c.lead.leadId);
          if (!k) return undefined;
          return lookups(async () => {
            if (abandoned()) return; // its outcome no longer matters: the job throws below
            const { outcome, lookedUp: asked } = await resolveRedelivery(c.lead, c.to, k, now, release);
            if (asked) lookedUp++;
            outcomes[c.i] = outcome;
          });
        }),
      ).then(
        () => undefined,
        (err: unknown) => ({ err }),
      );

      const calls = await Promise.allSettled(
        sending.map((c) =>
          limit(async (): Promise<Sent> => {
            // From when its intent was written (a takeover: its own write): a slow store before
            // that must not use up the window. Abandoned counts as not fresh: a text still waiting
            // for its pacing slot is not sent; a call once started is seen through and recorded.
            const intentAt = recorded.takenOverAt?.get(c.lead.leadId) ?? recorded.intentAt;
            const stillFresh = () => !abandoned() && opts.now() - intentAt <= SEND_WITHIN_MS;
            const result: SmsSendResult = !stillFresh()
              ? STALE
              : await opts.adapter.send({
                  leadId: c.lead.leadId,
                  to: c.to,
                  body: opts.compose(c.lead),
                  idempotencyKey: deliveryKey(c.lead.leadId, destination),
                  ...(opts.statusCallbackUrl ? { statusCallbackUrl: opts.statusCallbackUrl } : {}),
                  stillFresh,
                });
            // Stale means the provider was not called (src/sinks/sms/adapters/adapter.ts).
            if (!result.ok && result.stale) return abandoned() ? { c, result, intentAt, unsent: true } : { c, result, intentAt };
            // A certain refusal of this one text (a bad number) is still the provider answering.
            if (result.ok || (!result.retriable && !result.uncertain)) opts.circuit.success();
            else if (result.retriable) opts.circuit.failure();
            metrics.circuitOpen.set({ provider: opts.provider }, opts.circuit.isOpen() ? 1 : 0);
            return { c, result, intentAt };
          }),
        ),
      );
      // Every call is waited for, even when one threw: what the others sent is recorded below.
      const results = calls.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failedCall = calls.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      const failedLookups = await resolving;
      const error = failedCall ? (failedCall.reason as unknown) : failedLookups?.err;
      return error !== undefined ? { results, error } : { results };
    }

    // Texts tried before (a fallback from another provider, a retry, a redelivery) are recorded
    // apart from new ones, each group with its own insert and send window: their intents often
    // exist already, and one duplicate makes FerretDB write a whole insert one transaction per
    // document; each takes several store calls (read, takeover), which held the new texts of the
    // same job past their window.
    const before = (c: Candidate) => triedBefore(c.lead) || redelivery.has(c.lead.leadId);
    const groups = [claimed.filter((c) => !before(c)), claimed.filter(before)].filter((g) => g.length > 0);
    const done = await Promise.all(groups.map(recordAndSend));
    const results = done.flatMap((d) => d.results);
    const sentAt = opts.now();
    const sentNow = results.flatMap(({ c, result }) => (result.ok ? [{ leadId: c.lead.leadId, phone: c.to, provider: opts.provider, providerMessageId: result.providerMessageId, sentAt }] : []));
    const report = (recordedAt: number) => {
      if (!opts.onSlowJob || recordedAt - started < SLOW_JOB_MS) return;
      opts.onSlowJob({
        provider: opts.provider,
        texts: leads.length,
        claimMs: claimedAt - started,
        intentMs: intentsAt - claimedAt,
        sendMs: sentAt - intentsAt,
        recordMs: recordedAt - sentAt,
        sent: sentNow.length,
        redelivered,
        lookedUp,
        stale: results.filter((r) => !r.result.ok && r.result.stale).length,
      });
    };
    await opts.sent.markSent(sentNow);
    for (const t of sentNow) sentHere.add(t.leadId, { provider: t.provider, providerMessageId: t.providerMessageId });
    // A text the provider certainly did not take (refused, or never called: stale, or the job
    // abandoned) is withdrawn: the next owner or the fallback provider records it as a new text,
    // in one insert. Marked failed instead, each fallback during a provider's outage cost five
    // more store calls to take over (chaos: eurosms jobs of 54-100 fallbacks spent 8.6 s on
    // intents). A stale one was once left "sending" for a lookup; since a provider's "no such
    // message" is trusted only NOT_SENT_SETTLE_MS after the intent (redelivery.ts), that would
    // hold a text nobody sent for two minutes.
    const failed = results.filter((r) => !r.result.ok && !r.result.uncertain && !r.unsent);
    const unsent = results.filter((r) => r.unsent);
    await opts.sent.withdraw([...failed, ...unsent].map(({ c, intentAt }) => ({ leadId: c.lead.leadId, phone: c.to, provider: opts.provider, intentAt })), release);
    report(opts.now());
    // What was sent is recorded above; now the job fails as a whole (retried: the sent ones are
    // answered as redeliveries).
    const error = done.find((d) => d.error !== undefined)?.error;
    if (error !== undefined) throw error;
    if (unsent.length > 0) throw new Abandoned(`${unsent.length} texts not sent, left to the next owner`);
    for (const { c, result } of results) {
      outcomes[c.i] = result.ok ? { status: 'delivered', detail: `${opts.provider} message ${result.providerMessageId}` } : result.stale ? { status: 'retry', error: result.error } : afterFailure(c.lead, result);
    }
    return outcomes.map((o) => o ?? { status: 'retry', error: 'no outcome' });
  }

  return { kind: 'sms', deliver, close: () => opts.adapter.close() };
}
