/**
 * Consumer lag of every group in the topology, from the broker's own numbers (committed offset vs
 * high watermark), every few seconds, into leadrouter_consumer_lag_records and
 * leadrouter_consumer_oldest_waiting_seconds. Every role process watches every group, so a
 * group whose processes are all dead still shows its lag growing (from the others): the case an
 * operator most needs to see. Scrape with max by (group, topic, partition).
 *
 * "Oldest waiting" is how long a partition has had records waiting while its commit point did
 * not move: a lower bound of the oldest unprocessed lead's age, read without fetching records.
 */
import type { Admin } from 'kafkajs';
import { metrics } from '../metrics.js';

export interface WatchedGroup {
  group: string;
  topics: string[];
}

export interface LagSnapshot {
  group: string;
  topic: string;
  partition: number;
  committed: bigint;
  end: bigint;
  lag: bigint;
}

export function startLagMonitor(admin: Admin, groups: WatchedGroup[], everyMs = 10_000, now: () => number = Date.now) {
  /** Per group/topic/partition: the committed offset last seen, and since when records have waited at it. */
  const waiting = new Map<string, { committed: bigint; since: number }>();
  let last: LagSnapshot[] = [];
  let running: Promise<void> | null = null;

  async function poll(): Promise<void> {
    const ends = new Map<string, Map<number, bigint>>();
    const topics = [...new Set(groups.flatMap((g) => g.topics))];
    for (const topic of topics) ends.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)])));
    const snapshot: LagSnapshot[] = [];
    for (const g of groups) {
      const committed = await admin.fetchOffsets({ groupId: g.group, topics: g.topics });
      let oldest = 0;
      for (const t of committed) {
        for (const p of t.partitions) {
          const end = ends.get(t.topic)?.get(p.partition) ?? 0n;
          const at = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset); // -1: nothing committed yet
          const lag = end > at ? end - at : 0n;
          snapshot.push({ group: g.group, topic: t.topic, partition: p.partition, committed: at, end, lag });
          metrics.consumerLag.set({ group: g.group, topic: t.topic, partition: String(p.partition) }, Number(lag));
          const key = `${g.group}|${t.topic}|${p.partition}`;
          const seen = waiting.get(key);
          if (lag === 0n) waiting.delete(key);
          else if (!seen || seen.committed !== at) waiting.set(key, { committed: at, since: now() });
          const w = waiting.get(key);
          if (w) oldest = Math.max(oldest, (now() - w.since) / 1000);
        }
      }
      metrics.oldestWaiting.set({ group: g.group }, oldest);
    }
    last = snapshot;
  }

  const tick = () => {
    running ??= poll()
      .catch(() => undefined) // the broker is away: keep the last numbers; readiness says why
      .finally(() => (running = null));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    snapshot: () => last,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
