/**
 * The order in which a lead is offered to a group's eligible buyers (those whose schedule, caps
 * and filters let them take it). The first `maxBuyers` that accept get it; the rest of the order
 * is the fallback when one rejects or fails past the deadline.
 *
 *   priority     as listed in the group;
 *   round-robin  as listed, rotated by a cursor that the caller keeps between leads and gets back
 *                advanced past the buyer offered first, so over many leads each buyer is first
 *                within ±1 of the others;
 *   weighted     drawn by weight without replacement with an injected random (deterministic in
 *                tests, seeded per lead for `route --explain`), so the first buyer is chosen with
 *                probability weight / total;
 *   auction      by bid, highest first; ties keep listed order; a bid that arrived after the
 *                group's bid window counts as no bid.
 */
import type { DistributionMethod } from './buyer-schema.js';

export interface EligibleBuyer {
  name: string;
  /** Position in the group's buyer list (priority order). */
  index: number;
  weight: number;
}

/** A bid as the pinger collected it. amount null: the buyer answered without bidding. */
export interface Bid {
  amount: number | null;
  /** Time from sending the pings to this answer. */
  elapsedMs: number;
  /** Why there is no amount ("HTTP 503", "no bid in the reply"). */
  reason?: string;
}

export interface Ordering {
  order: EligibleBuyer[];
  /** Bids of the buyers in `order` (auction only). */
  bids: Map<string, number>;
  /** Buyers left out, each with its reason ("no bid", "bid late"). */
  excluded: { buyer: string; reason: string }[];
  /** Round robin: the cursor for the next lead. */
  cursor?: number;
}

export interface OrderingContext {
  /** Round robin: the group's cursor (an index into its buyer list), 0 when unknown. */
  cursor?: number | undefined;
  /** Weighted: uniform in [0, 1). */
  random: () => number;
  /** Auction: bids by buyer name. */
  bids?: Readonly<Record<string, Bid>> | undefined;
  /** Auction: bids slower than this are ignored. */
  bidWindowMs: number;
  /** Auction: standing bids of buyers that are not pinged (their configured price). */
  standingBids?: ReadonlyMap<string, number> | undefined;
  /** Number of buyers in the whole group (round robin rotates over all of them). */
  groupSize: number;
}

export function orderBuyers(method: DistributionMethod, eligible: readonly EligibleBuyer[], ctx: OrderingContext): Ordering {
  switch (method) {
    case 'priority':
      return { order: byPriority(eligible), bids: new Map(), excluded: [] };
    case 'round-robin':
      return roundRobin(eligible, ctx.groupSize, ctx.cursor ?? 0);
    case 'weighted':
      return { order: weighted(eligible, ctx.random), bids: new Map(), excluded: [] };
    case 'auction':
      return auction(eligible, ctx);
  }
}

function byPriority(eligible: readonly EligibleBuyer[]): EligibleBuyer[] {
  return [...eligible].sort((a, b) => a.index - b.index);
}

function roundRobin(eligible: readonly EligibleBuyer[], groupSize: number, cursor: number): Ordering {
  const n = Math.max(groupSize, 1);
  const start = ((Math.trunc(cursor) % n) + n) % n;
  const order = [...eligible].sort((a, b) => ((a.index - start + n) % n) - ((b.index - start + n) % n));
  // Past the buyer offered first: an ineligible buyer's turn is skipped, not saved up.
  const next = order.length > 0 ? (order[0]!.index + 1) % n : start;
  return { order, bids: new Map(), excluded: [], cursor: next };
}

function weighted(eligible: readonly EligibleBuyer[], random: () => number): EligibleBuyer[] {
  const left = byPriority(eligible);
  const order: EligibleBuyer[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, b) => sum + b.weight, 0);
    let r = random() * total;
    let i = 0;
    while (i < left.length - 1 && r >= left[i]!.weight) {
      r -= left[i]!.weight;
      i++;
    }
    order.push(left.splice(i, 1)[0]!);
  }
  return order;
}

function auction(eligible: readonly EligibleBuyer[], ctx: OrderingContext): Ordering {
  const bids = new Map<string, number>();
  const excluded: { buyer: string; reason: string }[] = [];
  for (const b of eligible) {
    const standing = ctx.standingBids?.get(b.name);
    const bid = ctx.bids?.[b.name];
    if (bid === undefined) {
      if (standing !== undefined) bids.set(b.name, standing);
      else excluded.push({ buyer: b.name, reason: 'no bid' });
    } else if (bid.elapsedMs > ctx.bidWindowMs) {
      excluded.push({ buyer: b.name, reason: `bid late: ${bid.elapsedMs}ms > ${ctx.bidWindowMs}ms` });
    } else if (bid.amount === null || !(bid.amount > 0)) {
      excluded.push({ buyer: b.name, reason: `no bid${bid.reason ? `: ${bid.reason}` : ''}` });
    } else {
      bids.set(b.name, bid.amount);
    }
  }
  // Array.prototype.sort is stable and the input is in priority order: ties keep listed order.
  const order = byPriority(eligible.filter((b) => bids.has(b.name))).sort((a, b) => bids.get(b.name)! - bids.get(a.name)!);
  return { order, bids, excluded };
}

/** mulberry32: a small seeded PRNG for deterministic weighted picks (tests, `route --explain`). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seed from a lead id, so one lead always gets the same weighted order (replays, explain). */
export function seedFromId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}
