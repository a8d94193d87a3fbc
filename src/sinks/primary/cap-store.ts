/**
 * Buyer caps that hold under concurrency and crashes: capacity is reserved before a lead is sent
 * to a buyer and given back when the buyer does not take it.
 *
 * One document per unit of capacity (a "slot"): a buyer's day window with a cap of 100 has slots
 * `acme:day:2026-12-01#1` … `#100`, and reserving is inserting one of them with the lead as its
 * holder. Every write is one single-document insert or one delete, and three rules make it exact:
 *   - `_id` is unique, so no window ever has more than `limit` slots taken, however many sink
 *     processes insert at once (a cap of 100 never lets 101 through);
 *   - (window, holder) is a unique index, so the same lead cannot take two slots of one window: an
 *     at-least-once redelivery, or a crash between the insert and the send, finds its slot taken
 *     by itself and counts once;
 *   - two copies of one lead can run at once (a rebalance hands its partition on while the old
 *     owner is still sending). Each claims, then records its outcome for (buyer, lead, round) as
 *     a decision document: the first insert wins and every copy follows it, so both send, or
 *     neither; and a copy gives back only the slots it inserted itself, never its twin's.
 * Giving capacity back is deleting the lead's slots: idempotent, so a crash anywhere in it is
 * healed by doing it again.
 *
 * Why not a counter with `updateOne({count: {$lt: limit}}, {$inc: {count: 1}})`: on FerretDB 1.24
 * (this repository's store) a conditional update is a read then a write, not atomic: 400
 * concurrent reservations against a cap of 100 all "succeeded" and the counter read 15. Inserts
 * under a unique index are atomic there (PostgreSQL enforces the index), and on MongoDB too.
 *
 * A window's slots are dropped after the window ends (purge, hourly: FerretDB 1.x has no TTL
 * indexes); `total` slots never expire.
 */
import type { Collection, Db } from 'mongodb';
import pLimit from 'p-limit';
import type { CapWindow } from '../../distribution/caps.js';
import { reservationId } from '../../distribution/caps.js';
import { RetriableError, messageOf } from '../../errors.js';
import { FIRST_BATCH, deadline } from '../../mongo-ops.js';

export const CAP_SLOTS_COLLECTION = 'buyer_cap_slots';
export const CAP_DECISIONS_COLLECTION = 'buyer_cap_decisions';
const OP_MS = 10_000;
/** Longer for writes: a retry racing an insert still running in the server only adds work. */
const WRITE_MS = 30_000;
/**
 * Reservations in flight per process. A batch offers hundreds of leads at once; queued behind
 * the connection pool, their operations would spend their time limit waiting, and time out
 * together on a busy store. Past this many, a reservation waits its turn before its clock starts.
 */
const IN_FLIGHT = 16;
/** Decisions outlive any copy of a pass (records wait at most 14 days in leads.backup). */
const DECISION_KEEP_MS = 15 * 86_400_000;

interface Slot {
  _id: string;
  /** Reservation id of the window: `${buyer}:${windowKey}` (src/distribution/caps.ts). */
  w: string;
  buyer: string;
  holder: string;
  at: Date;
  /** When the window ends; null for `total`. */
  endsAt: Date | null;
}

interface Decision {
  _id: string;
  reserved: boolean;
  reason: string | null;
  at: Date;
}

export type Reservation = { ok: true } | { ok: false; reason: string };

export interface CapStore {
  /** Slots taken per reservation id (missing: 0), for plans. */
  counts(ids: readonly string[]): Promise<Record<string, number>>;
  /** One unit in every window for `holder` (the lead), all or nothing; `round`: its plan round. */
  reserve(buyer: string, holder: string, windows: readonly CapWindow[], now: number, round?: number): Promise<Reservation>;
  /** Gives back every unit `holder` took of this buyer. Idempotent. */
  release(buyer: string, holder: string): Promise<void>;
  /** Drops the slots of windows that ended before `before`, and old decisions. */
  purge(before: number): Promise<number>;
}

const isDuplicate = (err: unknown) => ((err as { cause?: { code?: number } }).cause ?? (err as { code?: number })).code === 11000;
const wrap = async <T>(what: string, op: Promise<T>, ms = OP_MS): Promise<T> => {
  try {
    return await deadline(what, ms, op);
  } catch (err) {
    throw err instanceof RetriableError ? err : new RetriableError(`${what}: ${messageOf(err)}`, { cause: err });
  }
};

type Claimed = { ok: true; inserted: string[] } | { ok: false; reason: string };

export async function openCapStore(db: Db): Promise<CapStore> {
  const slots: Collection<Slot> = db.collection(CAP_SLOTS_COLLECTION);
  const decisions: Collection<Decision> = db.collection(CAP_DECISIONS_COLLECTION);
  await slots.createIndex({ w: 1, holder: 1 }, { unique: true, name: 'window_holder' });
  await slots.createIndex({ buyer: 1, holder: 1 }, { name: 'buyer_holder' });
  await slots.createIndex({ endsAt: 1 }, { name: 'endsAt' });
  await decisions.createIndex({ at: 1 }, { name: 'at' });

  const holds = async (w: string, holder: string) => (await wrap('cap check', slots.findOne({ w, holder }, { projection: { _id: 1 } }))) !== null;

  /** Inserts slot k: true when taken now, false on a duplicate (FerretDB does not say which index). */
  async function insertSlot(w: string, k: number, buyer: string, holder: string, window: CapWindow, now: number): Promise<boolean> {
    try {
      await wrap('cap reserve', slots.insertOne({ _id: `${w}#${k}`, w, buyer, holder, at: new Date(now), endsAt: window.endsAt === null ? null : new Date(window.endsAt) }), WRITE_MS);
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  async function freeSlots(w: string, limit: number): Promise<number[]> {
    const docs = await wrap('cap slots', slots.find({ w }, { projection: { _id: 1 }, batchSize: FIRST_BATCH, limit: FIRST_BATCH }).toArray());
    const taken = new Set(docs.map((d) => Number(d._id.slice(d._id.lastIndexOf('#') + 1))));
    const free: number[] = [];
    for (let k = 1; k <= limit && free.length < FIRST_BATCH; k++) if (!taken.has(k)) free.push(k);
    return free;
  }

  /**
   * The next slot number to try per window, in this process: handed out synchronously, so this
   * process's concurrent reservations never collide with each other; other processes' are
   * duplicates that move the hint on. Seeded by one count per window (counts are the expensive
   * operation on FerretDB: a scan; inserts are cheap).
   */
  const hints = new Map<string, number>();
  const seeding = new Map<string, Promise<number>>();
  /** Windows found full with no hole, until when: a busy full buyer is not scanned per lead. */
  const fullUntil = new Map<string, number>();
  const FULL_RECHECK_MS = 250;

  /**
   * One unit of one window: the slot id when this call inserted it, '' when the lead already held
   * one (a redelivery, or its twin), null when the window is full. A duplicate means slot k is
   * taken or that the lead already holds one: asked once, after the first duplicate. Past the
   * limit, the holes capacity given back has left are looked up.
   */
  async function claim(buyer: string, holder: string, window: CapWindow, now: number): Promise<string | null> {
    const w = reservationId(buyer, window.key);
    if (!hints.has(w)) {
      let seed = seeding.get(w);
      if (!seed) {
        seed = wrap('cap count', slots.countDocuments({ w })).finally(() => seeding.delete(w));
        seeding.set(w, seed);
      }
      const count = await seed;
      if (hints.size > 10_000) hints.clear();
      if (!hints.has(w)) hints.set(w, count);
    }
    let askedHolder = false;
    const taken = async (k: number): Promise<string | null | undefined> => {
      if (await insertSlot(w, k, buyer, holder, window, now)) return `${w}#${k}`;
      if (!askedHolder) {
        askedHolder = true;
        if (await holds(w, holder)) return '';
      }
      return undefined; // someone else's: try another
    };
    for (;;) {
      const k = (hints.get(w) ?? 0) + 1;
      if (k > window.limit) break;
      hints.set(w, k);
      const got = await taken(k);
      if (got !== undefined) return got;
    }
    // Stale for at most FULL_RECHECK_MS: a slot given back meanwhile waits that long (never over the cap).
    const free = (fullUntil.get(w) ?? 0) > Date.now() ? [] : await freeSlots(w, window.limit);
    if (free.length === 0) {
      if (fullUntil.size > 10_000) fullUntil.clear();
      fullUntil.set(w, Date.now() + FULL_RECHECK_MS);
    }
    while (free.length > 0) {
      const got = await taken(free.splice(Math.floor(Math.random() * free.length), 1)[0]!);
      if (got !== undefined) return got;
    }
    return (await holds(w, holder)) ? '' : null;
  }

  /** Every window or none, smallest limit first (the one most likely full refuses before the others take a slot). */
  async function claimAll(buyer: string, holder: string, windows: readonly CapWindow[], now: number): Promise<Claimed> {
    const inserted: string[] = [];
    for (const window of [...windows].sort((a, b) => a.limit - b.limit)) {
      const got = await claim(buyer, holder, window, now);
      if (got === null) {
        await giveBack(inserted); // only what this call took: a twin's slots stay
        return { ok: false, reason: `capped: ${window.period} ${window.limit}/${window.limit}` };
      }
      if (got) inserted.push(got);
    }
    return { ok: true, inserted };
  }

  async function giveBack(ids: string[]): Promise<void> {
    if (ids.length > 0) await wrap('cap release', slots.deleteMany({ _id: { $in: ids } }), WRITE_MS);
  }

  /** The outcome every copy of this pass follows: the first one recorded. */
  async function decide(id: string, reserved: boolean, reason: string | null, now: number): Promise<Decision> {
    const mine: Decision = { _id: id, reserved, reason, at: new Date(now) };
    try {
      await wrap('cap decision', decisions.insertOne(mine), WRITE_MS);
      return mine;
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      return (await wrap('cap decision', decisions.findOne({ _id: id }))) ?? mine;
    }
  }

  async function reserve(buyer: string, holder: string, windows: readonly CapWindow[], now: number, round = 0): Promise<Reservation> {
    if (windows.length === 0) return { ok: true };
    const first = await claimAll(buyer, holder, windows, now);
    const decision = await decide(`${buyer}|${holder}|${round}`, first.ok, first.ok ? null : first.reason, now);
    if (decision.reserved) {
      if (first.ok) return { ok: true };
      // A twin reserved (its slots exist by now): hold them too. Still full: never over the cap.
      const again = await claimAll(buyer, holder, windows, now);
      return again.ok ? { ok: true } : again;
    }
    if (first.ok) await giveBack(first.inserted); // the twin found it full: neither sends
    return { ok: false, reason: decision.reason ?? 'capped' };
  }

  async function countsOf(ids: readonly string[]): Promise<Record<string, number>> {
    if (ids.length === 0) return {};
    const rows = await wrap('cap counts', slots.aggregate<{ _id: string; n: number }>([{ $match: { w: { $in: [...ids] } } }, { $group: { _id: '$w', n: { $sum: 1 } } }], { batchSize: FIRST_BATCH }).toArray());
    return Object.fromEntries(rows.map((r) => [r._id, r.n]));
  }

  async function release(buyer: string, holder: string): Promise<void> {
    await wrap('cap release', slots.deleteMany({ buyer, holder }), WRITE_MS);
  }

  async function purge(before: number): Promise<number> {
    const gone = await wrap('cap purge', slots.deleteMany({ endsAt: { $lt: new Date(before) } }), 120_000);
    const old = await wrap('cap purge', decisions.deleteMany({ at: { $lt: new Date(before - DECISION_KEEP_MS) } }), 120_000);
    return gone.deletedCount + old.deletedCount;
  }

  const turn = pLimit(IN_FLIGHT);
  return {
    counts: countsOf,
    reserve: (buyer, holder, windows, now, round) => turn(() => reserve(buyer, holder, windows, now, round)),
    release: (buyer, holder) => turn(() => release(buyer, holder)),
    purge,
  };
}
