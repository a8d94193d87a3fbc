/**
 * A lead's distribution as it travels: the plan made once (plan.ts) turned into the state carried
 * on the lead record (LeadEvent.distribution), the attempts appended pass after pass, and what one
 * pass of sink-primary hands to the stage to settle. Pure: the sink, the stage, the returns
 * endpoint and `route --explain` share these.
 *
 * Outcomes kept on the lead are richer than progress.ts needs: `skipped` (the buyer was full when
 * its capacity was reserved) and `gave-up` (its deadline passed) are final for that buyer, so
 * progress reads both as a rejection.
 */
import type { DistributionAttempt, DistributionState } from '../lead.js';
import type { BuyerGroup } from './buyer-schema.js';
import type { DistributionPlan } from './plan.js';
import { distributionProgress, type Attempt, type Progress } from './progress.js';

/** One thing a pass did with one buyer, for the lead's history (destination primary:<buyer>). */
export interface BuyerNote {
  type: 'skipped' | 'declined' | 'delivered' | 'failed';
  buyer: string;
  detail: string;
  /** Tells apart notes of the same type, buyer and pass (a deadline give-up after a plan skip). */
  discriminator?: string;
}

/** A one-buyer rule ends as today's deliveries do: delivered, retried by the policy, or dead. */
export type SingleBuyerOutcome = { status: 'delivered'; detail?: string } | { status: 'retry'; error: string } | { status: 'dead'; reason: string };

export type PassResult =
  /** Every buyer that will get the lead has it (maxBuyers, or nobody left to try after a sale). */
  | { kind: 'done' }
  /** A buyer failed transiently and is within its deadline: leads.backup, back no later than notAfter. */
  | { kind: 'retry'; error: string; notAfter: number }
  /** Nobody took it: leads.unsold, with every reason. */
  | { kind: 'unsold'; reasons: string[] }
  | { kind: 'single'; outcome: SingleBuyerOutcome };

export interface DistributionOutcome {
  status: 'distribution';
  /** The state after this pass: carried on the backup / unsold record. */
  state: DistributionState;
  notes: BuyerNote[];
  result: PassResult;
}

/**
 * "No deadline": the retry policy (maxAttempts, maxAgeMs) decides instead. Ten years, not
 * MAX_SAFE_INTEGER, which avsc refuses as an Avro long (it would not fit a backup record).
 */
export const NO_DEADLINE_MS = 10 * 365 * 86_400_000;

/** A rule that names one buyer: a group of one, retried by the retry policy rather than a deadline. */
export function singleBuyerGroup(buyer: string): BuyerGroup {
  return { method: 'priority', buyers: [{ name: buyer, weight: 1 }], maxBuyers: 1, deadlineMs: NO_DEADLINE_MS, bidWindowMs: 300, redistributeOnReturn: false, returnWindowDays: 14 };
}

export function stateFromPlan(plan: DistributionPlan, target: string, single: boolean, round: number): DistributionState {
  return {
    target,
    single,
    method: plan.method,
    maxBuyers: plan.maxBuyers,
    deadlineMs: plan.deadlineMs,
    redistributeOnReturn: plan.redistributeOnReturn,
    plannedAt: plan.at,
    round,
    candidates: plan.candidates.map((c) => ({ buyer: c.buyer, price: c.price?.amount ?? null, priceSource: c.price?.source ?? null })),
    skipped: plan.skipped.map((s) => ({ ...s })),
    attempts: [],
    status: 'open',
  };
}

/**
 * A lead planned again: after a return (status returned) the buyers that still have it stay
 * first (they count as sold), and every buyer that already saw it is left out with the reason; an
 * unsold lead replayed onto leads.primary (status unsold) starts over with a fresh plan.
 */
export function replan(previous: DistributionState, fresh: DistributionState): DistributionState {
  if (previous.status !== 'returned') return { ...fresh, round: previous.round + 1 };
  const last = lastAttempts(previous);
  const kept = previous.candidates.filter((c) => last.get(c.buyer)?.outcome === 'accepted');
  const candidates = [...kept, ...fresh.candidates.filter((c) => !last.has(c.buyer))];
  const seen = [...last.values()].filter((a) => a.outcome !== 'accepted').map((a) => ({ buyer: a.buyer, reason: `already had this lead (${a.outcome})` }));
  const skipped = [...fresh.skipped.filter((s) => !last.has(s.buyer)), ...seen];
  return { ...fresh, round: previous.round + 1, candidates, skipped, attempts: previous.attempts };
}

/** Whether a lead arriving with this state needs a (new) plan for `target`. */
export function needsPlan(state: DistributionState | null | undefined, target: string): boolean {
  return !state || state.target !== target || state.status === 'returned' || state.status === 'unsold';
}

/** Each buyer's latest attempt. */
export function lastAttempts(state: Pick<DistributionState, 'attempts'>): Map<string, DistributionAttempt> {
  const last = new Map<string, DistributionAttempt>();
  for (const a of [...state.attempts].sort((x, y) => x.at - y.at)) last.set(a.buyer, a);
  return last;
}

export function progressOf(state: DistributionState, now: number): Progress {
  const attempts: Attempt[] = state.attempts.map((a) => ({
    buyer: a.buyer,
    at: a.at,
    outcome: a.outcome === 'skipped' || a.outcome === 'gave-up' ? 'rejected' : a.outcome,
    ...(a.reason ? { reason: a.reason } : {}),
  }));
  return distributionProgress({ candidates: state.candidates, maxBuyers: state.maxBuyers, deadlineMs: state.deadlineMs, redistributeOnReturn: state.redistributeOnReturn }, attempts, now);
}

/** Every reason the lead was not sold, buyer by buyer: what leads.unsold carries. */
export function unsoldReasons(state: DistributionState): string[] {
  const reasons = state.skipped.map((s) => `${s.buyer}: ${s.reason}`);
  for (const a of lastAttempts(state).values()) {
    if (a.outcome !== 'accepted') reasons.push(`${a.buyer}: ${a.outcome}${a.reason ? `: ${a.reason}` : ''}`);
  }
  if (reasons.length === 0) reasons.push('the group has no buyer');
  return reasons;
}
