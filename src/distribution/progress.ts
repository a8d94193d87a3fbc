/**
 * Where a lead's distribution stands, from its plan and the attempts made so far: who has it,
 * whom to offer it to now, whom to retry, whom we passed on and why. Pure, so the sink can call
 * it after every reply (or after a restart, from the attempts recorded in history) and always
 * reach the same decision.
 *
 *   - the first `maxBuyers` candidates that accept get the lead (exclusive when 1);
 *   - a rejection is final for that buyer: the next candidate gets the slot at once;
 *   - a transient failure (5xx, 429, timeout, unreadable reply) keeps the slot and is retried
 *     until `deadlineMs` after that buyer's first attempt; then the buyer is given up and the
 *     lead moves on: a lead is worth most in its first minutes, a queue behind one dead buyer
 *     would waste it;
 *   - a buyer that returns the lead frees its slot for the next candidate when the group has
 *     redistributeOnReturn, and otherwise keeps counting as sold (the lead is not resold).
 */
import type { DistributionPlan } from './plan.js';

export type AttemptOutcome = 'accepted' | 'rejected' | 'retriable' | 'returned';

export interface Attempt {
  buyer: string;
  at: number;
  outcome: AttemptOutcome;
  reason?: string;
}

export interface Progress {
  /** Nothing left to do: sold to maxBuyers buyers, or no candidate left to try. */
  done: boolean;
  /** Buyers that have the lead, in plan order. */
  sold: string[];
  /** Candidates to offer the lead to now, for the first time. */
  offer: string[];
  /** Buyers that failed transiently and are within the deadline: send again. */
  retry: string[];
  /** Buyers passed on, with the reason: rejected, returned, or given up at the deadline. */
  passed: { buyer: string; reason: string }[];
}

export function distributionProgress(
  plan: Pick<DistributionPlan, 'maxBuyers' | 'deadlineMs' | 'redistributeOnReturn'> & { candidates: readonly { buyer: string }[] },
  attempts: readonly Attempt[],
  now: number,
): Progress {
  const byBuyer = new Map<string, Attempt[]>();
  for (const a of [...attempts].sort((x, y) => x.at - y.at)) {
    const list = byBuyer.get(a.buyer);
    if (list) list.push(a);
    else byBuyer.set(a.buyer, [a]);
  }

  const sold: string[] = [];
  const retry: string[] = [];
  const fresh: string[] = [];
  const passed: { buyer: string; reason: string }[] = [];
  for (const { buyer } of plan.candidates) {
    const list = byBuyer.get(buyer);
    const last = list?.[list.length - 1];
    if (!list || !last) {
      fresh.push(buyer);
      continue;
    }
    const because = last.reason ? `: ${last.reason}` : '';
    switch (last.outcome) {
      case 'accepted':
        sold.push(buyer);
        break;
      case 'returned':
        if (plan.redistributeOnReturn) passed.push({ buyer, reason: `returned${because}` });
        else sold.push(buyer);
        break;
      case 'rejected':
        passed.push({ buyer, reason: `rejected${because}` });
        break;
      case 'retriable': {
        const since = now - list[0]!.at;
        if (since >= plan.deadlineMs) passed.push({ buyer, reason: `gave up after ${Math.round(since / 1000)}s (deadline ${Math.round(plan.deadlineMs / 1000)}s)${because}` });
        else retry.push(buyer);
        break;
      }
    }
  }

  const open = Math.max(0, plan.maxBuyers - sold.length - retry.length);
  const offer = fresh.slice(0, open);
  const done = sold.length >= plan.maxBuyers || (retry.length === 0 && offer.length === 0);
  return { done, sold, offer: done ? [] : offer, retry: done ? [] : retry, passed };
}
