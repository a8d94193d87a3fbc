/**
 * Money: what each buyer pays for each lead it accepted, what a return credits back, and the
 * leads kept to be sold again when a buyer returns one.
 *
 *   payouts     one document per accepted delivery, `_id` leadId:buyer (kind sale), and one per
 *               return, `_id` leadId:buyer:return (kind credit, a negative amount). Both are
 *               inserts under a unique `_id`: a redelivered lead is not paid twice, a return
 *               credited twice is impossible, and nothing is ever updated in place (on FerretDB
 *               1.x an update is a read then a write, see cap-store.ts). Revenue is their sum.
 *   sold_leads  the lead as sold, for groups that redistribute on return (redistributeOnReturn):
 *               the returns endpoint needs the whole lead to offer it to the next buyer. It holds
 *               personal data, so it is kept only for those groups and only for the return
 *               window, then purged.
 */
import type { Collection, Db } from 'mongodb';
import { RetriableError, messageOf } from '../../errors.js';
import type { LeadEvent } from '../../lead.js';
import { FIRST_BATCH, deadline } from '../../mongo-ops.js';

export const PAYOUTS_COLLECTION = 'payouts';
export const SOLD_LEADS_COLLECTION = 'sold_leads';
const READ_MS = 15_000;
/**
 * Writes wait long before they are called failed: a retry issued while the first attempt still
 * runs in the server doubles the work (see src/history/store.ts); and they go in chunks of 100,
 * because FerretDB answers a chunk holding one duplicate (a redelivered sale) by inserting each
 * of its documents in a transaction of its own.
 */
const WRITE_MS = 60_000;
const WRITE_CHUNK = 100;

export interface Payout {
  _id: string;
  kind: 'sale' | 'credit';
  leadId: string;
  buyer: string;
  /** What the rule named (group or buyer) and the rule. */
  target: string;
  rule: string;
  vendor: string;
  source: string;
  /** Null when the buyer has no price (a sale is still counted). Negative for a credit. */
  amount: number | null;
  priceSource: string | null;
  buyerLeadId: string | null;
  at: Date;
  /** Sales: until when the buyer may return it; whether the group sells a returned lead again. */
  returnableUntil?: Date;
  redistributeOnReturn?: boolean;
  /** Credits: the buyer's reason code. */
  reason?: string;
}

export const REVENUE_DIMENSIONS = ['buyer', 'vendor', 'source', 'rule'] as const;
export type RevenueDimension = (typeof REVENUE_DIMENSIONS)[number];

export interface RevenueRow {
  key: string;
  sold: number;
  gross: number;
  returned: number;
  credited: number;
  net: number;
}

export interface Ledger {
  /** Records sales; those already recorded (a redelivery) are skipped. */
  recordSales(sales: Payout[]): Promise<void>;
  sale(leadId: string, buyer: string): Promise<Payout | null>;
  credit(leadId: string, buyer: string): Promise<Payout | null>;
  /** Records the credit of a return; false when that sale was already returned. */
  recordCredit(credit: Payout): Promise<boolean>;
  /** Keeps (or replaces) the lead as sold, until `until`. */
  keepSoldLeads(leads: { lead: LeadEvent; until: Date }[]): Promise<void>;
  soldLead(leadId: string): Promise<LeadEvent | null>;
  revenue(by: RevenueDimension, since: Date, until?: Date): Promise<RevenueRow[]>;
  purge(now: Date): Promise<number>;
}

const isDuplicate = (err: unknown) => {
  const e = err as { code?: number; writeErrors?: { code?: number }[] };
  return e.code === 11000 || (Array.isArray(e.writeErrors) && e.writeErrors.length > 0 && e.writeErrors.every((w) => w.code === 11000));
};

async function guarded<T>(what: string, op: Promise<T>, ms = READ_MS): Promise<T> {
  try {
    return await deadline(what, ms, op);
  } catch (err) {
    throw err instanceof RetriableError ? err : new RetriableError(`${what}: ${messageOf(err)}`, { cause: err });
  }
}

export async function openLedger(db: Db): Promise<Ledger> {
  const payouts: Collection<Payout> = db.collection(PAYOUTS_COLLECTION);
  const sold: Collection<{ _id: string; lead: LeadEvent; until: Date }> = db.collection(SOLD_LEADS_COLLECTION);
  await payouts.createIndex({ at: 1 }, { name: 'at' });
  await payouts.createIndex({ leadId: 1 }, { name: 'leadId' });
  await sold.createIndex({ until: 1 }, { name: 'until' });

  return {
    async recordSales(sales) {
      for (let i = 0; i < sales.length; i += WRITE_CHUNK) {
        try {
          await guarded('payouts', payouts.insertMany(sales.slice(i, i + WRITE_CHUNK), { ordered: false }), WRITE_MS);
        } catch (err) {
          if (!isDuplicate((err as { cause?: unknown }).cause ?? err)) throw err;
        }
      }
    },
    sale: (leadId, buyer) => guarded('payout read', payouts.findOne({ _id: `${leadId}:${buyer}`, kind: 'sale' })),
    credit: (leadId, buyer) => guarded('payout read', payouts.findOne({ _id: `${leadId}:${buyer}:return` })),
    async recordCredit(credit) {
      try {
        await guarded('credit', payouts.insertOne(credit), WRITE_MS);
        return true;
      } catch (err) {
        if (isDuplicate((err as { cause?: unknown }).cause ?? err)) return false;
        throw err;
      }
    },
    async keepSoldLeads(leads) {
      // One replace per lead: FerretDB holds a connection per statement of a bulk write.
      await Promise.all(leads.map(({ lead, until }) => guarded('sold lead', sold.replaceOne({ _id: lead.leadId }, { lead, until }, { upsert: true }), WRITE_MS)));
    },
    async soldLead(leadId) {
      return (await guarded('sold lead read', sold.findOne({ _id: leadId })))?.lead ?? null;
    },
    async revenue(by, since, until) {
      const at = until ? { $gte: since, $lt: until } : { $gte: since };
      const group = { key: `$${by}`, kind: '$kind' };
      type Row = { _id: { key: string | null; kind: string }; v: number };
      // Two pipelines, not one with two accumulators: FerretDB 1.24 answers 0 for a $sum over a
      // field when a second accumulator shares the $group (one at a time is right).
      const [counts, sums] = await Promise.all([
        guarded('revenue', payouts.aggregate<Row>([{ $match: { at } }, { $group: { _id: group, v: { $sum: 1 } } }], { batchSize: FIRST_BATCH }).toArray()),
        guarded('revenue', payouts.aggregate<Row>([{ $match: { at, amount: { $type: 'number' } } }, { $group: { _id: group, v: { $sum: '$amount' } } }], { batchSize: FIRST_BATCH }).toArray()),
      ]);
      const byKey = new Map<string, RevenueRow>();
      const row = (r: Row) => {
        const key = r._id.key ?? '(none)';
        let x = byKey.get(key);
        if (!x) byKey.set(key, (x = { key, sold: 0, gross: 0, returned: 0, credited: 0, net: 0 }));
        return x;
      };
      for (const r of counts) row(r)[r._id.kind === 'sale' ? 'sold' : 'returned'] += r.v;
      for (const r of sums) {
        if (r._id.kind === 'sale') row(r).gross += r.v;
        else row(r).credited += -r.v;
      }
      for (const x of byKey.values()) {
        x.gross = round2(x.gross);
        x.credited = round2(x.credited);
        x.net = round2(x.gross - x.credited);
      }
      return [...byKey.values()].sort((a, b) => b.net - a.net || a.key.localeCompare(b.key));
    },
    async purge(now) {
      return (await guarded('sold leads purge', sold.deleteMany({ until: { $lt: now } }), 120_000)).deletedCount;
    },
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
