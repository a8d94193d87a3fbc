/**
 * The distribution plan of one lead in one buyer group: the buyers to offer it to, in order,
 * and every buyer left out with the reason. Pure: the clock, the cap counters, the auction's bids,
 * the round-robin cursor and the random source all come in through the context, so the sink and
 * `lead-router route --explain` compute the very same plan.
 *
 * Each buyer goes through, in this order (the first failure is its reason):
 *   filters   "filtered: state TX not in [CA]"        the buyer never takes this lead;
 *   schedule  "closed: opens Mon 09:00 America/Chicago";
 *   caps      "capped: day 100/100";
 * then the group's method orders the rest, and an auction drops "no bid" / "bid late" buyers.
 */
import type { LeadEvent } from '../lead.js';
import type { BuyerGroup, DistributionBuyer, DistributionMethod } from './buyer-schema.js';
import { checkCaps, reservationId, type CapWindow } from './caps.js';
import { checkFilters } from './filters.js';
import { orderBuyers, type Bid, type EligibleBuyer } from './methods.js';
import { priceForLead, settlePrice, type PricedLead } from './pricing.js';
import { describeNextOpening, isOpen } from './schedule.js';

export interface PlanContext {
  now: number;
  /** Cap counters by reservation id (`${buyer}:${windowKey}`, see caps.ts); missing is 0. */
  counts: Readonly<Record<string, number>>;
  /** Auction: bids collected from the pings, by buyer. */
  bids?: Readonly<Record<string, Bid>> | undefined;
  /** Round robin: the group's cursor before this lead. */
  cursor?: number | undefined;
  /** Uniform in [0, 1): weighted picks. Seed it from the lead id for reproducible plans. */
  random: () => number;
  /** The group's name, for explanations. */
  groupName?: string | undefined;
}

export interface PlannedBuyer {
  buyer: string;
  /** What this buyer pays if it accepts (its bid in an auction), null when it has no price. */
  price: PricedLead | null;
  /** Cap windows to reserve when offering the lead, and their reservation document ids. */
  capWindows: CapWindow[];
  reservations: string[];
}

export interface SkippedBuyer {
  buyer: string;
  reason: string;
}

export interface DistributionPlan {
  group: string | null;
  method: DistributionMethod;
  maxBuyers: number;
  deadlineMs: number;
  redistributeOnReturn: boolean;
  at: number;
  candidates: PlannedBuyer[];
  skipped: SkippedBuyer[];
  /** Round robin: the cursor to keep for the group's next lead. */
  cursor?: number;
}

export function planDistribution(group: BuyerGroup, buyers: Readonly<Record<string, DistributionBuyer>>, lead: LeadEvent, ctx: PlanContext): DistributionPlan {
  const skipped: SkippedBuyer[] = [];
  const eligible: EligibleBuyer[] = [];
  const windows = new Map<string, CapWindow[]>();
  const standingBids = new Map<string, number>();

  for (const [index, member] of group.buyers.entries()) {
    const buyer = buyers[member.name];
    if (!buyer) {
      skipped.push({ buyer: member.name, reason: 'unknown buyer' });
      continue;
    }
    const why = ineligible(member.name, buyer, lead, ctx, windows);
    if (why) {
      skipped.push({ buyer: member.name, reason: why });
      continue;
    }
    eligible.push({ name: member.name, index, weight: member.weight });
    if (group.method === 'auction' && !buyer.ping) {
      // A buyer that is not pinged competes with its configured price as a standing bid.
      const price = priceForLead(buyer.price, lead);
      if (price) standingBids.set(member.name, price.amount);
    }
  }

  const ordering = orderBuyers(group.method, eligible, {
    cursor: ctx.cursor,
    random: ctx.random,
    bids: ctx.bids,
    bidWindowMs: group.bidWindowMs,
    standingBids,
    groupSize: group.buyers.length,
  });
  for (const e of ordering.excluded) skipped.push(e);

  const candidates = ordering.order.map((e): PlannedBuyer => {
    const buyer = buyers[e.name]!;
    const configured = priceForLead(buyer.price, lead);
    const bid = buyer.ping ? ordering.bids.get(e.name) : undefined;
    const capWindows = windows.get(e.name) ?? [];
    return { buyer: e.name, price: settlePrice({ bid, configured }), capWindows, reservations: capWindows.map((w) => reservationId(e.name, w.key)) };
  });

  const plan: DistributionPlan = {
    group: ctx.groupName ?? null,
    method: group.method,
    maxBuyers: group.maxBuyers,
    deadlineMs: group.deadlineMs,
    redistributeOnReturn: group.redistributeOnReturn,
    at: ctx.now,
    candidates,
    skipped: sortByListing(skipped, group),
  };
  if (ordering.cursor !== undefined) plan.cursor = ordering.cursor;
  return plan;
}

/** Why a buyer cannot take this lead now, or null. Records the cap windows of eligible buyers. */
function ineligible(name: string, buyer: DistributionBuyer, lead: LeadEvent, ctx: PlanContext, windows: Map<string, CapWindow[]>): string | null {
  const filters = checkFilters(buyer, lead, ctx.now);
  if (!filters.ok) return `filtered: ${filters.filter} ${filters.detail}`;
  // The schema requires a timezone with a schedule or calendar caps; a total cap needs none.
  const zone = buyer.timezone ?? 'UTC';
  if (!isOpen(buyer.schedule, zone, ctx.now)) return `closed: ${describeNextOpening(buyer.schedule, zone, ctx.now)}`;
  const caps = checkCaps(buyer.caps, (key) => ctx.counts[reservationId(name, key)] ?? 0, ctx.now, zone);
  if (!caps.ok) return `capped: ${caps.period} ${caps.count}/${caps.limit}`;
  windows.set(name, caps.windows);
  return null;
}

function sortByListing(skipped: SkippedBuyer[], group: BuyerGroup): SkippedBuyer[] {
  const pos = new Map(group.buyers.map((b, i) => [b.name, i]));
  return [...skipped].sort((a, b) => (pos.get(a.buyer) ?? 0) - (pos.get(b.buyer) ?? 0));
}

const money = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** The plan as lines for people: the order, each buyer's price, and why the others were left out. */
export function explainPlan(plan: DistributionPlan): string[] {
  const shared = plan.maxBuyers === 1 ? 'exclusive (1 buyer)' : `shared (up to ${plan.maxBuyers} buyers)`;
  const lines = [`${plan.group ? `group ${plan.group}: ` : ''}${plan.method}, ${shared}, retry failing buyers for ${Math.round(plan.deadlineMs / 1000)}s`];
  if (plan.candidates.length === 0) lines.push('  no buyer can take this lead');
  for (const [i, c] of plan.candidates.entries()) {
    const price = c.price ? ` at ${money(c.price.amount)} (${c.price.source})` : '';
    lines.push(`  ${i + 1}. ${c.buyer}${price}`);
  }
  for (const s of plan.skipped) lines.push(`  - ${s.buyer}: ${s.reason}`);
  if (plan.cursor !== undefined) lines.push(`  next round-robin cursor: ${plan.cursor}`);
  return lines;
}
