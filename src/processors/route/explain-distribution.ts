/**
 * `lead-router route --explain`, the distribution half: for a lead routed to buyers, every buyer
 * of the rule's group considered and why it was chosen or skipped (filter, schedule, cap, bid),
 * planned by the very function sink-primary plans with (src/sinks/primary/planner.ts).
 *
 * What the sink would know and a dry run may not: cap counts come from MongoDB when it answers
 * (otherwise 0, and the plan says so); bids come from pinging the auction's buyers only with
 * --ping (a ping is a real request to a buyer), otherwise pinged buyers show "no bid".
 */
import { MongoClient } from 'mongodb';
import type { RouterFile } from '../../config.js';
import { parseDestination } from '../../destination.js';
import { singleBuyerGroup } from '../../distribution/outcome.js';
import { explainPlan } from '../../distribution/plan.js';
import type { LeadEvent } from '../../lead.js';
import { collectBids } from '../../sinks/primary/auction.js';
import { createBuyerClient } from '../../sinks/primary/buyer-client.js';
import { CAP_SLOTS_COLLECTION } from '../../sinks/primary/cap-store.js';
import { planBatch, type PlannerDeps } from '../../sinks/primary/planner.js';

export type ExplainDeps = Omit<PlannerDeps, 'cursors'> & { cursors?: Map<string, number>; notes?: string[] };

/** Lines explaining the plan of a lead routed to `destination` ("primary:<group or buyer>"), or null. */
export async function explainDistribution(lead: LeadEvent, destination: string, primary: RouterFile['primary'], deps: ExplainDeps): Promise<string[] | null> {
  const d = parseDestination(destination);
  if (d?.kind !== 'primary') return null;
  const group = primary.groups[d.name] ?? (primary.buyers[d.name] ? singleBuyerGroup(d.name) : null);
  if (!group) return [`unknown buyer or group "${d.name}"`];
  const [planned] = await planBatch([{ lead, target: d.name, group, single: !primary.groups[d.name] }], primary.buyers, { ...deps, cursors: deps.cursors ?? new Map() });
  return [...explainPlan(planned!.plan), ...(deps.notes ?? [])];
}

/**
 * The context of a dry run: cap counts read from MongoDB (MONGO_URL) when it answers within 2 s,
 * bids by real pings only when asked. Close it when done.
 */
export async function dryRunDeps(mongoUrl: string, opts: { ping: boolean }): Promise<ExplainDeps & { close(): Promise<void> }> {
  const notes: string[] = [];
  let client: MongoClient | null = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000, socketTimeoutMS: 5000 });
  try {
    await client.connect();
  } catch {
    await client.close().catch(() => undefined);
    client = null;
    notes.push('  (caps: MongoDB not reachable, every cap counted as 0)');
  }
  const buyers = opts.ping ? createBuyerClient() : null;
  if (!opts.ping) notes.push('  (auction: buyers with a ping were not pinged; --ping asks them for real bids)');
  const slots = client?.db().collection<{ w: string }>(CAP_SLOTS_COLLECTION);
  return {
    now: Date.now,
    async counts(ids) {
      if (!slots) return {};
      const rows = await slots.aggregate<{ _id: string; n: number }>([{ $match: { w: { $in: ids } } }, { $group: { _id: '$w', n: { $sum: 1 } } }]).toArray();
      return Object.fromEntries(rows.map((r) => [r._id, r.n]));
    },
    bids: buyers ? (lead, bidders, windowMs) => collectBids(buyers, lead, bidders, windowMs) : null,
    notes,
    async close() {
      await client?.close().catch(() => undefined);
      await buyers?.close();
    },
  };
}
