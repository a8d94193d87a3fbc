/**
 * sink-primary: leads.primary → the buyers of the rule that routed each lead. A rule names a
 * buyer group (priority, round-robin, weighted, auction; exclusive or shared) or one buyer (a
 * group of one, settled as deliveries always were). Per batch:
 *
 *   1. plan every lead that has no plan yet (planner.ts), and store the plans (plan-store.ts):
 *      a redelivered lead keeps the plan it was first given, never a second one;
 *   2. run each lead's pass (distributor.ts): reserve capacity, POST, read the reply with the
 *      buyer's response mapping, next buyer at once on a no, retry within the deadline;
 *   3. record the payouts of the sales made (ledger.ts), and keep sold leads that the group sells
 *      again when returned.
 * The stage settles each outcome (src/stages/distribution-settle.ts). Buyers and groups are
 * hot-reloaded with the routing rules (`primary` in the router file); a lead naming a buyer or
 * group this process does not know makes it re-read the file once before giving up on it.
 *
 * The sink throws only when its store (MongoDB) cannot answer: the batch is then tried again,
 * which is safe: plans, reservations and payouts are keyed by lead, and every request to a buyer
 * carries the same Idempotency-Key on every try.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { RetryPolicy, RouterFile } from '../../config.js';
import { parseDestination } from '../../destination.js';
import type { BuyerGroup, DistributionBuyer } from '../../distribution/buyer-schema.js';
import { needsPlan, singleBuyerGroup, type BuyerNote, type DistributionOutcome } from '../../distribution/outcome.js';
import { interpretResponse, interpretTransportError, type ReplyVerdict } from '../../distribution/response.js';
import { deliveryKey, type LeadEvent } from '../../lead.js';
import { Abandoned } from '../../errors.js';
import type { DeliveryOutcome, DeliverySignal, Sink } from '../sink.js';
import { collectBids } from './auction.js';
import { createBuyerClient, type BuyerClient } from './buyer-client.js';
import type { CapStore } from './cap-store.js';
import { runPass, type PassOutput } from './distributor.js';
import type { Ledger, Payout } from './ledger.js';
import { planId, type PlanStore } from './plan-store.js';
import { planBatch, type PlanJob } from './planner.js';
import { buyerPayload } from './webhook-sink.js';

export type PrimarySection = RouterFile['primary'];

export interface DistributionStores {
  caps: CapStore;
  ledger: Ledger;
  plans: PlanStore;
}

export interface DistributionSinkOptions {
  /** Buyers and groups in force (hot-reloaded); read per batch. */
  primary(): PrimarySection;
  /** Re-reads the router file now (a lead names a buyer or group this process does not know). */
  reload(): void;
  policy: RetryPolicy;
  /** Opened on first use; throws (RetriableError) while MongoDB is away. */
  stores(): Promise<DistributionStores>;
  /** The business clock (schedules, caps, deadlines); signatures use the real one. */
  now(): number;
  log: Pick<Logger, 'warn' | 'info'>;
  client?: BuyerClient;
}

const DAY_MS = 86_400_000;
/** A job slower than this holds its partitions' leads that long: worth a log line. */
const SLOW_JOB_MS = 5000;

export function createDistributionSink(opts: DistributionSinkOptions): Sink {
  const client = opts.client ?? createBuyerClient();
  const cursors = new Map<string, number>();
  const limiters = new Map<string, { concurrency: number; limit: LimitFunction }>();
  const limiter = (name: string, concurrency: number): LimitFunction => {
    let l = limiters.get(name);
    if (!l || l.concurrency !== concurrency) limiters.set(name, (l = { concurrency, limit: pLimit(concurrency) }));
    return l.limit;
  };

  async function offer(name: string, buyer: DistributionBuyer, lead: LeadEvent, abandoned: () => boolean): Promise<ReplyVerdict> {
    return limiter(name, buyer.concurrency)(async () => {
      // Waiting for a connection slot can take seconds in a backlog: a batch abandoned meanwhile
      // (its partitions are moving) sends nothing more, so the job ends and the rebalance and the
      // pipeline's bound are not held by it; its next owner offers the lead again.
      if (abandoned()) throw new Abandoned(`lead not offered to ${name}: its batch was abandoned`);
      const reply = await client.post(buyer, deliveryKey(lead.leadId, `primary:${name}`), JSON.stringify(buyerPayload(lead)));
      if (!reply.ok) return interpretTransportError(reply.kind === 'timeout' ? 'timeout' : 'network', reply.detail);
      // Credentials being rotated at the buyer's end: worth another try, as it always was.
      if (reply.status === 401 || reply.status === 403) return { accepted: false, retriable: true, reason: `HTTP ${reply.status}: the buyer refused our credentials` };
      return interpretResponse(buyer.response, reply.status, reply.contentType, reply.body);
    });
  }

  type Job = PlanJob | { lead: LeadEvent; dead: string };
  function resolve(lead: LeadEvent, primary: PrimarySection): Job {
    const d = parseDestination(lead.delivery?.destination ?? '');
    if (d?.kind !== 'primary') return { lead, dead: `not a buyer destination: "${lead.delivery?.destination ?? ''}"` };
    const group: BuyerGroup | undefined = primary.groups[d.name];
    if (group) return { lead, target: d.name, group, single: false };
    if (primary.buyers[d.name]) return { lead, target: d.name, group: singleBuyerGroup(d.name), single: true };
    return { lead, dead: `no buyer or buyer group "${d.name}" in primary (removed from config?)` };
  }

  async function deliver(leads: LeadEvent[], signal?: DeliverySignal): Promise<DeliveryOutcome[]> {
    const abandoned = () => signal?.abandoned() ?? false;
    const started = Date.now();
    const stores = await opts.stores();
    const storesAt = Date.now();
    let primary = opts.primary();
    let jobs = leads.map((l) => resolve(l, primary));
    if (jobs.some((j) => 'dead' in j)) {
      opts.reload();
      primary = opts.primary();
      jobs = leads.map((l) => resolve(l, primary));
    }

    // 1. Plans: made for leads that have none, stored, and the stored one used.
    const toPlan = jobs.filter((j): j is PlanJob => !('dead' in j) && needsPlan(j.lead.distribution, j.target));
    const planned = await planBatch(toPlan, primary.buyers, {
      now: opts.now,
      counts: (ids) => stores.caps.counts(ids),
      bids: (lead, bidders, windowMs) => collectBids(client, lead, bidders, windowMs),
      cursors,
    });
    const stored = await stores.plans.claim(
      toPlan.flatMap((j, i) => (j.single ? [] : [{ id: planId(j.lead.leadId, j.target, planned[i]!.state.round), state: planned[i]!.state }])),
      opts.now(),
    );
    const plannedAt = Date.now();
    const plans = new Map(toPlan.map((j, i) => [j, planned[i]!.state]));
    for (const [j, state] of plans) if (!j.single) plans.set(j, stored.get(planId(j.lead.leadId, j.target, state.round)) ?? state);

    // 2. Passes, every lead at once (each buyer's concurrency limit applies across them).
    if (abandoned()) throw new Abandoned('before any lead was offered');
    const deps = { now: opts.now, caps: stores.caps, offer: (name: string, buyer: DistributionBuyer, lead: LeadEvent) => offer(name, buyer, lead, abandoned), policy: opts.policy };
    const results = await Promise.all(
      jobs.map(async (job): Promise<PassOutput | DeliveryOutcome> => {
        if ('dead' in job) return { status: 'dead', reason: job.dead };
        const fresh = plans.get(job);
        const state = fresh ?? job.lead.distribution!;
        const notes: BuyerNote[] = fresh ? state.skipped.map((s) => ({ type: 'skipped', buyer: s.buyer, detail: s.reason, discriminator: 'plan' })) : [];
        return runPass(job.lead, state, primary.buyers, notes, deps);
      }),
    );

    // 3. Money: what was sold in this batch, and the leads to sell again when returned.
    const passedAt = Date.now();
    const sales: Payout[] = [];
    const kept: { lead: LeadEvent; until: Date }[] = [];
    results.forEach((r, i) => {
      const job = jobs[i]!;
      if (!('outcome' in r) || 'dead' in job) return;
      const windowDays = job.group.returnWindowDays;
      for (const s of r.sales) {
        sales.push({
          _id: `${job.lead.leadId}:${s.buyer}`,
          kind: 'sale',
          leadId: job.lead.leadId,
          buyer: s.buyer,
          target: job.target,
          rule: job.lead.delivery?.rule ?? '',
          vendor: job.lead.vendor,
          source: job.lead.source,
          amount: s.amount,
          priceSource: s.priceSource,
          buyerLeadId: s.buyerLeadId,
          at: new Date(s.at),
          returnableUntil: new Date(s.at + windowDays * DAY_MS),
          redistributeOnReturn: r.outcome.state.redistributeOnReturn,
        });
      }
      if (r.sales.length > 0 && r.outcome.state.redistributeOnReturn) kept.push({ lead: { ...job.lead, distribution: r.outcome.state }, until: new Date(opts.now() + windowDays * DAY_MS) });
    });
    await stores.ledger.recordSales(sales);
    if (kept.length > 0) await stores.ledger.keepSoldLeads(kept);
    const done = Date.now();
    // The job's partitions wait this long: where it went says whether a buyer or the store held it.
    if (done - started >= SLOW_JOB_MS) {
      opts.log.warn({ leads: leads.length, storesMs: storesAt - started, planMs: plannedAt - storesAt, passMs: passedAt - plannedAt, moneyMs: done - passedAt, sales: sales.length }, 'slow buyer job: its partitions waited this long (milliseconds per phase)');
    }
    return results.map((r): DeliveryOutcome => ('outcome' in r ? (r.outcome satisfies DistributionOutcome) : r));
  }

  return { kind: 'primary', deliver, close: () => client.close() };
}
