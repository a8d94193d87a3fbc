/**
 * Planning a batch of leads: the context planDistribution (src/distribution/plan.ts) needs, got
 * once per batch rather than per lead.
 *
 *   counts   the cap windows of every buyer the batch's groups name, in one query: advisory (a
 *            buyer shown full is skipped at once); the reservation at send time is the real check;
 *   bids     an auction pings its eligible buyers in parallel, within the group's bid window;
 *   cursor   round robin takes turns per group in this process, advanced in batch order, so over
 *            many leads each buyer is first within ±1 of the others (per process: with N sink
 *            processes, within ±N overall; see the README for why not a shared counter);
 *   random   weighted picks draw from a generator seeded by the lead id and round, so a lead
 *            redelivered, and `route --explain`, get the very same order.
 * `lead-router route --explain` plans with the same function, so it shows what the sink will do.
 */
import type { BuyerGroup, DistributionBuyer } from '../../distribution/buyer-schema.js';
import { capWindows, reservationId } from '../../distribution/caps.js';
import { seededRandom, seedFromId, type Bid } from '../../distribution/methods.js';
import { replan, stateFromPlan } from '../../distribution/outcome.js';
import { planDistribution, type DistributionPlan } from '../../distribution/plan.js';
import type { DistributionState, LeadEvent } from '../../lead.js';

export interface PlanJob {
  lead: LeadEvent;
  /** What the rule named: a group, or one buyer. */
  target: string;
  group: BuyerGroup;
  single: boolean;
}

export interface PlannerDeps {
  now(): number;
  counts(ids: string[]): Promise<Record<string, number>>;
  /** Pings the bidders; null: do not ping (a dry run), buyers with a ping then have no bid. */
  bids: ((lead: LeadEvent, bidders: { name: string; buyer: DistributionBuyer }[], bidWindowMs: number) => Promise<Record<string, Bid>>) | null;
  /** Round-robin cursor per group, kept by the caller between batches. */
  cursors: Map<string, number>;
}

export interface PlannedLead {
  plan: DistributionPlan;
  state: DistributionState;
}

export async function planBatch(jobs: readonly PlanJob[], buyers: Readonly<Record<string, DistributionBuyer>>, deps: PlannerDeps): Promise<PlannedLead[]> {
  const now = deps.now();
  const ids = new Set<string>();
  for (const job of jobs) {
    for (const member of job.group.buyers) {
      const buyer = buyers[member.name];
      for (const w of capWindows(buyer?.caps, now, buyer?.timezone ?? 'UTC')) ids.add(reservationId(member.name, w.key));
    }
  }
  const counts = ids.size > 0 ? await deps.counts([...ids]) : {};

  const bids = await Promise.all(
    jobs.map(async (job) => {
      if (job.group.method !== 'auction' || !deps.bids) return undefined;
      // Only buyers that could take the lead are pinged: a closed or full buyer's bid is moot.
      const eligible = planDistribution({ ...job.group, method: 'priority' }, buyers, job.lead, { now, counts, random: () => 0 }).candidates;
      const bidders = eligible.flatMap((c) => (buyers[c.buyer]?.ping ? [{ name: c.buyer, buyer: buyers[c.buyer]! }] : []));
      return bidders.length > 0 ? deps.bids(job.lead, bidders, job.group.bidWindowMs) : undefined;
    }),
  );

  return jobs.map((job, i) => {
    const previous = job.lead.distribution?.target === job.target ? job.lead.distribution : null;
    const round = previous ? previous.round + 1 : 0;
    const plan = planDistribution(job.group, buyers, job.lead, {
      now,
      counts,
      bids: bids[i],
      cursor: deps.cursors.get(job.target),
      random: seededRandom(seedFromId(`${job.lead.leadId}:${round}`)),
      groupName: job.target,
    });
    if (plan.cursor !== undefined) deps.cursors.set(job.target, plan.cursor);
    const fresh = stateFromPlan(plan, job.target, job.single, 0);
    return { plan, state: previous ? replan(previous, fresh) : fresh };
  });
}
