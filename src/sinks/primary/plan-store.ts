/**
 * Plans made once. A lead's plan depends on things that move (the round-robin cursor, bids, the
 * clock against schedules and caps), so a lead redelivered after a crash (its first pass never
 * produced the plan onward) could be planned differently and offered to a second buyer: an
 * exclusive lead sold twice. So the first plan of each (lead, target, round) is stored before
 * anything is sent, `_id` unique, and every later pass of that lead uses the stored one.
 * Inserts only (see cap-store.ts on FerretDB updates); purged once no record can still need it.
 */
import type { Collection, Db } from 'mongodb';
import { RetriableError, messageOf } from '../../errors.js';
import type { DistributionState } from '../../lead.js';
import { FIRST_BATCH, deadline } from '../../mongo-ops.js';

export const PLANS_COLLECTION = 'distribution_plans';

export interface PlanStore {
  /** Stores each plan unless one is already stored; returns the plan in force for every id. */
  claim(plans: readonly { id: string; state: DistributionState }[], now: number): Promise<Map<string, DistributionState>>;
  purge(before: number): Promise<number>;
}

export function planId(leadId: string, target: string, round: number): string {
  return `${leadId}:${target}:${round}`;
}

/** Long write deadlines and chunks of 100, for the reasons in ledger.ts (FerretDB and duplicates). */
const WRITE_MS = 60_000;
const WRITE_CHUNK = 100;

async function guarded<T>(what: string, op: Promise<T>, ms = 15_000): Promise<T> {
  try {
    return await deadline(what, ms, op);
  } catch (err) {
    throw err instanceof RetriableError ? err : new RetriableError(`${what}: ${messageOf(err)}`, { cause: err });
  }
}

export async function openPlanStore(db: Db): Promise<PlanStore> {
  const plans: Collection<{ _id: string; state: DistributionState; at: Date }> = db.collection(PLANS_COLLECTION);
  await plans.createIndex({ at: 1 }, { name: 'at' });
  return {
    async claim(list, now) {
      const out = new Map(list.map((p) => [p.id, p.state]));
      if (list.length === 0) return out;
      const duplicates: string[] = [];
      for (let i = 0; i < list.length; i += WRITE_CHUNK) {
        const chunk = list.slice(i, i + WRITE_CHUNK);
        try {
          await guarded('plans', plans.insertMany(chunk.map((p) => ({ _id: p.id, state: p.state, at: new Date(now) })), { ordered: false }), WRITE_MS);
        } catch (err) {
          const e = ((err as { cause?: unknown }).cause ?? err) as { code?: number; writeErrors?: { code?: number }[] };
          const writeErrors = e.writeErrors ?? [];
          if (!(e.code === 11000 || writeErrors.length > 0) || !writeErrors.every((w) => w.code === 11000)) throw err;
          // Which ones already existed: FerretDB does not always say, so ask for every id of the chunk.
          duplicates.push(...chunk.map((p) => p.id));
        }
      }
      if (duplicates.length > 0) {
        const stored = await guarded('plans read', plans.find({ _id: { $in: duplicates } }, { batchSize: FIRST_BATCH, limit: FIRST_BATCH }).toArray());
        for (const doc of stored) out.set(doc._id, doc.state);
      }
      return out;
    },
    async purge(before) {
      return (await guarded('plans purge', plans.deleteMany({ at: { $lt: new Date(before) } }), 120_000)).deletedCount;
    },
  };
}
