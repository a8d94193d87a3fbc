/**
 * The chaos run's ledger: for every accepted lead, at each destination its route needs, either
 * delivered or in leads.dlq with a reason. Anything else is lost. Also counted: duplicate
 * deliveries to buyers (and whether they carry the original idempotency key), people texted
 * twice, and whether each lead's history shows what happened to it.
 */
import type { Sandbox } from '../../sandbox/index.js';
import type { StoredEvent } from '../../src/history/store.js';
import type { AcceptedLead } from './load.js';

export type Need = 'buyer' | 'sms' | 'search';
export const NEEDS: Need[] = ['buyer', 'sms', 'search'];

export interface DeadLetter {
  leadId: string;
  destination: string;
  reason: string;
}

export interface Ledger {
  accepted: number;
  delivered: Record<Need, number>;
  dead: Record<Need, number>;
  lost: Record<Need, string[]>;
  /** Buyer deliveries beyond the first per lead, and how many of them carried another key. */
  duplicateDeliveries: number;
  duplicatesWithOtherKey: number;
  textedTwice: string[];
}

const kindOf = (destination: string): Need | null => (destination.startsWith('primary:') ? 'buyer' : destination.startsWith('sms:') ? 'sms' : destination.startsWith('search:') ? 'search' : null);

/** Leads each buyer accepted, with every idempotency key it saw per lead. */
export function buyerDeliveries(sandbox: Sandbox): Map<string, string[]> {
  const byLead = new Map<string, string[]>();
  for (const buyer of [sandbox.buyerUs, sandbox.buyerUk]) {
    for (const r of buyer.received) {
      if (!r.accepted || r.path !== '/leads' || !r.leadId) continue;
      const keys = byLead.get(r.leadId) ?? [];
      keys.push(r.headers['idempotency-key'] ?? '');
      byLead.set(r.leadId, keys);
    }
  }
  return byLead;
}

export function textedPhones(sandbox: Sandbox): Set<string> {
  return new Set(sandbox.sms.flatMap((p) => p.sent.map((t) => t.to)));
}

/** Which of these ids the index holds (mget in chunks). */
export async function indexedIds(esUrl: string, index: string, ids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const res = await fetch(`${esUrl}/${encodeURIComponent(index)}/_mget?_source=false`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ids.slice(i, i + 1000) }),
      signal: AbortSignal.timeout(30_000),
    });
    if (res.status === 404) return found; // no index yet
    const body = (await res.json()) as { docs?: { _id: string; found: boolean }[] };
    for (const d of body.docs ?? []) if (d.found) found.add(d._id);
  }
  return found;
}

export function ledger(accepted: AcceptedLead[], seen: { buyers: Map<string, string[]>; texted: Set<string>; indexed: Set<string>; dead: DeadLetter[]; textedTwice: string[] }): Ledger {
  const deadBy = new Map<string, Set<Need>>();
  for (const d of seen.dead) {
    // Dead-lettered before routing (no destination yet): it stands for every destination.
    const kinds = kindOf(d.destination) ? [kindOf(d.destination)!] : NEEDS;
    const set = deadBy.get(d.leadId) ?? new Set<Need>();
    for (const k of kinds) set.add(k);
    deadBy.set(d.leadId, set);
  }
  const delivered: Record<Need, number> = { buyer: 0, sms: 0, search: 0 };
  const dead: Record<Need, number> = { buyer: 0, sms: 0, search: 0 };
  const lost: Record<Need, string[]> = { buyer: [], sms: [], search: [] };
  let duplicateDeliveries = 0;
  let duplicatesWithOtherKey = 0;
  for (const lead of accepted) {
    const got: Record<Need, boolean> = {
      buyer: seen.buyers.has(lead.leadId),
      sms: seen.texted.has(lead.phone),
      search: seen.indexed.has(lead.leadId),
    };
    for (const need of NEEDS) {
      if (got[need]) delivered[need]++;
      else if (deadBy.get(lead.leadId)?.has(need)) dead[need]++;
      else lost[need].push(lead.leadId);
    }
    const keys = seen.buyers.get(lead.leadId) ?? [];
    if (keys.length > 1) {
      duplicateDeliveries += keys.length - 1;
      duplicatesWithOtherKey += keys.filter((k) => k !== keys[0]).length;
    }
  }
  return { accepted: accepted.length, delivered, dead, lost, duplicateDeliveries, duplicatesWithOtherKey, textedTwice: seen.textedTwice };
}

export const lostCount = (l: Ledger) => NEEDS.reduce((n, k) => n + l.lost[k].length, 0);

export interface HistoryCheck {
  checked: number;
  /** Leads whose history lacks a hop (received, enriched, routed) or the outcome at a destination. */
  incomplete: { leadId: string; missing: string[] }[];
  /** Events stored more than once for the same (type, destination, attempt): must be none. */
  duplicateEvents: number;
}

/** Every accepted lead's history shows its hops and, per destination it reached, its delivery (or death). */
export function checkHistory(accepted: AcceptedLead[], events: Map<string, StoredEvent[]>, l: { buyers: Map<string, string[]>; texted: Set<string>; indexed: Set<string>; dead: DeadLetter[] }): HistoryCheck {
  const incomplete: HistoryCheck['incomplete'] = [];
  let duplicateEvents = 0;
  for (const lead of accepted) {
    const evs = events.get(lead.leadId) ?? [];
    const seen = new Set<string>();
    for (const e of evs) {
      const k = `${e.type}|${e.destination ?? ''}|${e.attempt ?? ''}|${e.stage}|${e.detail ?? ''}`;
      if (seen.has(k)) duplicateEvents++;
      seen.add(k);
    }
    const has = (type: string, kind?: Need) => evs.some((e) => e.type === type && (!kind || (e.destination && kindOf(e.destination) === kind)));
    const missing = ['received', 'enriched', 'routed'].filter((t) => !has(t));
    const outcomes = (kind: Need) => has('delivered', kind) || has('dead', kind) || has('duplicate', kind) || has('suppressed', kind);
    if (l.buyers.has(lead.leadId) && !has('delivered', 'buyer')) missing.push('delivered to the buyer');
    if (l.indexed.has(lead.leadId) && !has('delivered', 'search')) missing.push('delivered to search');
    if (l.texted.has(lead.phone) && !outcomes('sms')) missing.push('an SMS outcome');
    if (missing.length > 0) incomplete.push({ leadId: lead.leadId, missing });
  }
  return { checked: accepted.length, incomplete, duplicateEvents };
}

/** A stretch of time in which a fault stops deliveries to some destinations by design. */
export interface StopWindow {
  start: number;
  end: number;
  /** Destination suffixes it stops (buyer-us, twilio), or 'all'. */
  affects: string[];
}

/**
 * Longest time each destination went without a delivery while leads were flowing. With `windows`,
 * time inside a fault that stops that destination by design (the buyer down, the only broker
 * killed, enrich stopped) does not count: what is left is how long the pipeline itself took to
 * move again, e.g. a killed process's partitions waiting, or the first delivery after the broker
 * came back.
 */
export function stalls(events: StoredEvent[], from: number, to: number, windows: StopWindow[] = []): Record<string, { longestMs: number; at: number }> {
  const byDest = new Map<string, number[]>();
  for (const e of events) {
    if (e.type !== 'delivered' || !e.destination) continue;
    const t = e.at.getTime();
    if (t < from || t > to) continue;
    const list = byDest.get(e.destination) ?? [];
    list.push(t);
    byDest.set(e.destination, list);
  }
  const out: Record<string, { longestMs: number; at: number }> = {};
  for (const [dest, times] of byDest) {
    times.sort((a, b) => a - b);
    const stops = windows.filter((w) => w.affects.includes('all') || w.affects.some((a) => dest.endsWith(`:${a}`))).sort((a, b) => a.start - b.start);
    let longest = { longestMs: 0, at: from };
    const consider = (a: number, b: number) => {
      for (const [s, e] of uncovered(a, b, stops)) if (e - s > longest.longestMs) longest = { longestMs: e - s, at: s };
    };
    consider(from, times[0]!);
    for (let i = 1; i < times.length; i++) consider(times[i - 1]!, times[i]!);
    out[dest] = longest;
  }
  return out;
}

/** The parts of [a, b] outside every window (windows sorted by start). */
function uncovered(a: number, b: number, windows: StopWindow[]): [number, number][] {
  const parts: [number, number][] = [];
  let at = a;
  for (const w of windows) {
    if (w.end <= at || w.start >= b) continue;
    if (w.start > at) parts.push([at, w.start]);
    at = Math.max(at, w.end);
  }
  if (at < b) parts.push([at, b]);
  return parts;
}
