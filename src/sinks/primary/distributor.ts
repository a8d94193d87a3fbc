/**
 * One pass of one lead through its distribution: offer it to the buyers whose turn it is, read
 * their replies, and go on until the lead has every buyer it will get or has to wait.
 *
 * Speed to lead first: a buyer that is full when its capacity is reserved, or that says no, is
 * passed at once and the next candidate gets the slot in the same pass. A buyer that fails
 * transiently (timeout, 5xx, 429, an unreadable 2xx) keeps its slot: it is tried again on the next
 * pass (leads.backup), until the group's deadline after its first attempt; then it is given up,
 * its capacity goes back, and the next buyer is offered the lead. Each buyer is sent the lead at
 * most once per pass. progress.ts decides whose turn it is; this module does the I/O around it.
 *
 * Capacity is reserved before a send (cap-store.ts) and kept while the buyer holds the lead or is
 * being retried; it goes back when the buyer rejects it or is given up.
 */
import type { DistributionBuyer } from '../../distribution/buyer-schema.js';
import { capWindows } from '../../distribution/caps.js';
import { lastAttempts, progressOf, unsoldReasons, type BuyerNote, type DistributionOutcome, type PassResult } from '../../distribution/outcome.js';
import type { ReplyVerdict } from '../../distribution/response.js';
import type { RetryPolicy } from '../../config.js';
import type { DistributionAttempt, DistributionState, LeadEvent } from '../../lead.js';
import type { CapStore } from './cap-store.js';

export interface PassDeps {
  now(): number;
  caps: CapStore;
  /** Sends the full lead to the buyer and says what its reply means. */
  offer(name: string, buyer: DistributionBuyer, lead: LeadEvent): Promise<ReplyVerdict>;
  policy: RetryPolicy;
}

/** A sale made in this pass: what the ledger records. */
export interface Sale {
  buyer: string;
  at: number;
  amount: number | null;
  priceSource: string | null;
  buyerLeadId: string | null;
}

export interface PassOutput {
  outcome: DistributionOutcome;
  sales: Sale[];
}

const money = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

export async function runPass(lead: LeadEvent, planned: DistributionState, buyers: Readonly<Record<string, DistributionBuyer>>, planNotes: BuyerNote[], deps: PassDeps): Promise<PassOutput> {
  const state: DistributionState = { ...planned, attempts: [...planned.attempts], status: 'open' };
  const notes = [...planNotes];
  const sales: Sale[] = [];
  const sentThisPass = new Set<string>();
  const record = (a: DistributionAttempt) => state.attempts.push(a);

  // Each round gives a buyer up or sends to one not yet tried this pass: bounded by the candidates.
  for (let round = 0; round <= 2 * state.candidates.length + 1; round++) {
    const now = deps.now();
    const progress = progressOf(state, now);
    // A buyer past its deadline is given up once: recorded, and the next one's turn. Its capacity
    // goes back only if none of its failures could have reached it: after a timeout the buyer may
    // well have taken the lead, and a cap must never be exceeded on a guess.
    const gaveUp = progress.passed.filter((p) => lastAttempts(state).get(p.buyer)?.outcome === 'retriable');
    for (const p of gaveUp) {
      const uncertain = state.attempts.some((a) => a.buyer === p.buyer && a.outcome === 'retriable' && mayHaveReached(a.reason));
      const reason = uncertain ? `${p.reason}; capacity kept (a request may have reached it)` : p.reason;
      record({ buyer: p.buyer, at: now, outcome: 'gave-up', reason, buyerLeadId: null, price: null });
      notes.push({ type: 'skipped', buyer: p.buyer, detail: reason, discriminator: 'deadline' });
      if (!uncertain) await deps.caps.release(p.buyer, lead.leadId);
    }
    if (gaveUp.length > 0) continue; // their slots are free: ask progress again
    if (progress.done) break;
    const retry = progress.retry.filter((b) => !sentThisPass.has(b));
    if (retry.length === 0 && progress.offer.length === 0) break; // only buyers already tried this pass: wait in backup
    const fresh = new Set(progress.offer);
    await Promise.all([...retry, ...progress.offer].map((name) => attempt(name, fresh.has(name))));
  }

  async function attempt(name: string, fresh: boolean): Promise<void> {
    sentThisPass.add(name);
    const buyer = buyers[name];
    const at = deps.now();
    if (!buyer) {
      record({ buyer: name, at, outcome: 'skipped', reason: 'no longer in primary.buyers', buyerLeadId: null, price: null });
      notes.push({ type: 'skipped', buyer: name, detail: 'no longer in primary.buyers' });
      return;
    }
    if (fresh) {
      const reserved = await deps.caps.reserve(name, lead.leadId, capWindows(buyer.caps, at, buyer.timezone ?? 'UTC'), at, state.round);
      if (!reserved.ok) {
        record({ buyer: name, at, outcome: 'skipped', reason: reserved.reason, buyerLeadId: null, price: null });
        notes.push({ type: 'skipped', buyer: name, detail: reserved.reason, discriminator: 'send' });
        return;
      }
    }
    const verdict = await deps.offer(name, buyer, lead);
    const done = deps.now();
    if (verdict.accepted) {
      const planned = state.candidates.find((c) => c.buyer === name);
      const amount = verdict.price ?? planned?.price ?? null;
      const priceSource = verdict.price !== undefined ? 'reply' : (planned?.priceSource ?? null);
      const buyerLeadId = verdict.buyerLeadId ?? null;
      record({ buyer: name, at: done, outcome: 'accepted', reason: null, buyerLeadId, price: amount });
      sales.push({ buyer: name, at: done, amount, priceSource, buyerLeadId });
      const detail = [amount === null ? 'accepted' : `sold at ${money(amount)} (${priceSource})`, ...(buyerLeadId ? [`buyer lead id ${buyerLeadId}`] : [])].join('; ');
      if (!state.single) notes.push({ type: 'delivered', buyer: name, detail });
      return;
    }
    record({ buyer: name, at: done, outcome: verdict.retriable ? 'retriable' : 'rejected', reason: verdict.reason, buyerLeadId: null, price: null });
    if (!verdict.retriable) await deps.caps.release(name, lead.leadId);
    if (!state.single) notes.push({ type: verdict.retriable ? 'failed' : 'declined', buyer: name, detail: verdict.reason });
  }

  const result = state.single ? await singleResult(lead, state, deps) : groupResult(state, deps.now());
  if (result.kind === 'done') state.status = 'sold';
  if (result.kind === 'unsold') state.status = 'unsold';
  return { outcome: { status: 'distribution', state, notes, result }, sales };
}

/**
 * Whether a failed request may still have been acted on: no answer (timeout, a connection cut
 * mid-request) or one we did not read (too large). Refused connections and answered errors
 * (5xx, 429, unreadable 2xx are answers) did not deliver the lead.
 */
export function mayHaveReached(reason: string | null): boolean {
  if (!reason) return false;
  if (reason.startsWith('timeout:')) return true;
  return reason.startsWith('network:') && !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH/.test(reason);
}

function groupResult(state: DistributionState, now: number): PassResult {
  const progress = progressOf(state, now);
  if (progress.done) return progress.sold.length > 0 ? { kind: 'done' } : { kind: 'unsold', reasons: unsoldReasons(state) };
  const last = lastAttempts(state);
  const firstAt = (buyer: string) => Math.min(...state.attempts.filter((a) => a.buyer === buyer).map((a) => a.at));
  const notAfter = Math.min(...progress.retry.map((b) => firstAt(b) + state.deadlineMs));
  const error = progress.retry.map((b) => `${b}: ${last.get(b)?.reason ?? 'failed'}`).join('; ');
  return { kind: 'retry', error, notAfter };
}

/** A rule naming one buyer: today's outcomes, so the retry policy and leads.dlq apply as before. */
async function singleResult(lead: LeadEvent, state: DistributionState, deps: PassDeps): Promise<PassResult> {
  const buyer = state.candidates[0]?.buyer;
  const last = buyer ? lastAttempts(state).get(buyer) : undefined;
  if (!buyer || !last || last.outcome === 'skipped' || last.outcome === 'gave-up') return { kind: 'unsold', reasons: unsoldReasons(state) };
  switch (last.outcome) {
    case 'accepted': {
      const price = last.price === null ? 'accepted' : `sold at ${money(last.price)}`;
      return { kind: 'single', outcome: { status: 'delivered', detail: last.buyerLeadId ? `${price}; buyer id ${last.buyerLeadId}` : price } };
    }
    case 'rejected':
    case 'returned':
      return { kind: 'single', outcome: { status: 'dead', reason: (last.reason ?? 'no reason given').replace(/^rejected by buyer: /, 'buyer rejected the lead: ') } };
    case 'retriable': {
      // The policy will dead-letter it after this attempt: capacity back, unless a request may have reached the buyer.
      const d = lead.delivery;
      const finalAttempt = d !== null && (d.attempt + 1 >= deps.policy.maxAttempts || deps.now() - d.firstAttemptAt > deps.policy.maxAgeMs);
      const uncertain = state.attempts.some((a) => a.buyer === buyer && a.outcome === 'retriable' && mayHaveReached(a.reason));
      if (finalAttempt && !uncertain) await deps.caps.release(buyer, lead.leadId);
      return { kind: 'single', outcome: { status: 'retry', error: last.reason ?? 'failed' } };
    }
  }
}
