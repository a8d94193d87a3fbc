/** In-memory twins of sink-primary's MongoDB stores (caps, plans, ledger), for unit tests. */
import { reservationId } from '../../src/distribution/caps.js';
import type { CapStore } from '../../src/sinks/primary/cap-store.js';
import type { DistributionStores } from '../../src/sinks/primary/distribution-sink.js';
import type { Ledger, Payout, RevenueRow } from '../../src/sinks/primary/ledger.js';
import type { PlanStore } from '../../src/sinks/primary/plan-store.js';
import type { DistributionState, LeadEvent } from '../../src/lead.js';

export interface MemoryStores extends DistributionStores {
  slots: Map<string, Set<string>>;
  payouts: Map<string, Payout>;
  kept: Map<string, LeadEvent>;
  planned: Map<string, DistributionState>;
}

export function memoryStores(): MemoryStores {
  const slots = new Map<string, Set<string>>();
  const payouts = new Map<string, Payout>();
  const kept = new Map<string, LeadEvent>();
  const planned = new Map<string, DistributionState>();
  const caps: CapStore = {
    async counts(ids) {
      return Object.fromEntries(ids.map((id) => [id, slots.get(id)?.size ?? 0]));
    },
    async reserve(buyer, holder, windows) {
      const taken: Set<string>[] = [];
      for (const w of windows) {
        const set = slots.get(reservationId(buyer, w.key)) ?? new Set<string>();
        slots.set(reservationId(buyer, w.key), set);
        if (set.has(holder)) continue;
        if (set.size >= w.limit) {
          for (const t of taken) t.delete(holder);
          return { ok: false, reason: `capped: ${w.period} ${set.size}/${w.limit}` };
        }
        set.add(holder);
        taken.push(set);
      }
      return { ok: true };
    },
    async release(buyer, holder) {
      for (const [id, set] of slots) if (id.startsWith(`${buyer}:`)) set.delete(holder);
    },
    async purge() {
      return 0;
    },
  };
  const plans: PlanStore = {
    async claim(list) {
      const out = new Map<string, DistributionState>();
      for (const p of list) {
        if (!planned.has(p.id)) planned.set(p.id, p.state);
        out.set(p.id, planned.get(p.id)!);
      }
      return out;
    },
    async purge() {
      return 0;
    },
  };
  const ledger: Ledger = {
    async recordSales(sales) {
      for (const s of sales) if (!payouts.has(s._id)) payouts.set(s._id, s);
    },
    sale: async (leadId, buyer) => payouts.get(`${leadId}:${buyer}`) ?? null,
    credit: async (leadId, buyer) => payouts.get(`${leadId}:${buyer}:return`) ?? null,
    async recordCredit(c) {
      if (payouts.has(c._id)) return false;
      payouts.set(c._id, c);
      return true;
    },
    async keepSoldLeads(list) {
      for (const { lead } of list) kept.set(lead.leadId, lead);
    },
    soldLead: async (leadId) => kept.get(leadId) ?? null,
    async revenue(by, since) {
      const rows = new Map<string, RevenueRow>();
      for (const p of payouts.values()) {
        if (p.at < since) continue;
        const key = String(p[by] ?? '(none)');
        const r = rows.get(key) ?? { key, sold: 0, gross: 0, returned: 0, credited: 0, net: 0 };
        if (p.kind === 'sale') {
          r.sold++;
          r.gross += p.amount ?? 0;
        } else {
          r.returned++;
          r.credited -= p.amount ?? 0;
        }
        r.net = r.gross - r.credited;
        rows.set(key, r);
      }
      return [...rows.values()];
    },
    async purge() {
      return 0;
    },
  };
  return { caps, plans, ledger, slots, payouts, kept, planned };
}
