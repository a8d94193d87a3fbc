/**
 * What the dashboard shows live, computed in the ingest process and pushed to every open page
 * (SSE) every two seconds, only while somebody looks:
 *   - per topic, records written per second (high-watermark deltas); per stage, records consumed
 *     per second (committed-offset deltas), lag, oldest waiting (the lag monitor's gauge), members;
 *   - roles up or down from group membership (a dead process cannot report itself, the broker
 *     can), and each role process's readiness and SMS circuits from its admin port;
 *   - per destination, outcome rates and latency percentiles, and the most recent leads, from
 *     leads.events (src/ops/event-stats.ts says why that topic).
 * Kafka or a role being away never breaks the page: the last numbers stay, with the error.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { HistoryEventRecord } from '../history/events.js';
import type { Admin, Kafka } from '../kafka/client.js';
import type { Codec } from '../kafka/codec.js';
import { followTopic, type TopicFollower } from '../kafka/topic-reader.js';
import { metrics } from '../metrics.js';
import { parseAdminTargets, probeTargets, type TargetState } from '../ops/admin-targets.js';
import { readClusterStatus, type ClusterStatus, type RoleStatus } from '../ops/cluster-status.js';
import { EventStats, type DestinationStats, type RecentLead } from '../ops/event-stats.js';
import type { Topology } from '../topology.js';

export interface StageView {
  stage: string;
  role: string;
  group: string;
  state: string;
  members: number;
  lag: number;
  perSecond: number | null;
  oldestWaitingS: number;
}

export interface DestinationView extends DestinationStats {
  /** SMS only: open, closed, or unknown until a sink process reported it. */
  circuit: 'open' | 'closed' | 'unknown' | null;
}

export interface Snapshot {
  at: number;
  kafka: { ok: boolean; error: string | null };
  topics: Record<string, { perSecond: number | null; end: number }>;
  stages: StageView[];
  roles: RoleStatus[];
  targets: TargetState[];
  destinations: DestinationView[];
  recent: RecentLead[];
}

export interface LiveViewDeps {
  config: Config;
  topology: Topology;
  kafka: Kafka;
  admin: Admin;
  eventsCodec: Codec<HistoryEventRecord>;
  log: Logger;
  now(): number;
}

const POLL_MS = 2000;
const IDLE_STOP_MS = 60_000;
/** How far back the events view starts, so a fresh page is not empty. */
const EVENTS_LOOKBACK_MS = 10 * 60_000;

export function knownDestinations(config: Config): string[] {
  return [...Object.keys(config.router.primary.buyers).map((b) => `primary:${b}`), ...Object.keys(config.router.sms.providers).map((p) => `sms:${p}`), `search:${config.router.search.index}`];
}

export class LiveView {
  readonly stats: EventStats;
  private events: Promise<TopicFollower> | null = null;
  private previous: ClusterStatus | null = null;
  private last: Snapshot;
  private timer: NodeJS.Timeout | null = null;
  private lastWanted = 0;
  private targetsAt = 0;
  private targets: TargetState[] = [];
  private readonly listeners = new Set<(s: Snapshot) => void>();

  constructor(private readonly deps: LiveViewDeps) {
    this.stats = new EventStats({ now: deps.now });
    this.last = { at: deps.now(), kafka: { ok: false, error: 'not read yet' }, topics: {}, stages: [], roles: [], targets: [], destinations: [], recent: [] };
  }

  /** The newest snapshot; starts polling if it was idle (the first call waits for one poll). */
  async snapshot(): Promise<Snapshot> {
    const wasIdle = this.timer === null;
    this.want();
    if (wasIdle) await this.poll();
    return this.last;
  }

  subscribe(listener: (s: Snapshot) => void): () => void {
    this.listeners.add(listener);
    this.want();
    listener(this.last);
    return () => this.listeners.delete(listener);
  }

  private want(): void {
    this.lastWanted = this.deps.now();
    this.events ??= this.followEvents();
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.listeners.size === 0 && this.deps.now() - this.lastWanted > IDLE_STOP_MS) return this.stopPolling();
      void this.poll();
    }, POLL_MS);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.previous = null; // rates restart from the next two polls
  }

  private followEvents(): Promise<TopicFollower> {
    const p = followTopic({
      kafka: this.deps.kafka,
      topic: this.deps.topology.topics.events,
      since: this.deps.now() - EVENTS_LOOKBACK_MS,
      onBatch: async (records) => {
        for (const r of records) {
          const e = await this.deps.eventsCodec.decode(r.value).catch(() => null);
          if (e) this.stats.add(e);
        }
      },
    });
    p.catch((err: unknown) => {
      this.deps.log.warn({ err: (err as Error).message }, 'dashboard: cannot follow the events topic yet');
      this.events = null; // tried again on the next poll
    });
    return p;
  }

  private polling: Promise<void> | null = null;
  private poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = null));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const { topology, config } = this.deps;
    if (this.deps.now() - this.targetsAt > 5000) {
      this.targetsAt = this.deps.now();
      this.targets = await probeTargets(parseAdminTargets(config.env.ADMIN_TARGETS), 3000);
    }
    let kafka: Snapshot['kafka'] = { ok: true, error: null };
    let stages = this.last.stages;
    let topics = this.last.topics;
    let roles = this.last.roles;
    try {
      const status = await readClusterStatus(this.deps.admin, topology, this.deps.now);
      const prev = this.previous;
      const dt = prev ? (status.at - prev.at) / 1000 : 0;
      const rate = (now: number, before: number | undefined) => (prev && dt > 0 && before !== undefined ? Math.max(0, (now - before) / dt) : null);
      const oldest = new Map((await metrics.oldestWaiting.get()).values.map((v) => [String(v.labels.group), v.value]));
      topics = Object.fromEntries(Object.entries(status.topicEnds).map(([t, end]) => [t, { end, perSecond: rate(end, prev?.topicEnds[t]) }]));
      stages = status.stages.map((s) => ({
        stage: s.stage,
        role: s.role,
        group: s.group,
        state: s.state,
        members: s.members.length,
        lag: s.lag,
        perSecond: rate(s.committed, prev?.stages.find((p) => p.stage === s.stage)?.committed),
        oldestWaitingS: oldest.get(s.group) ?? 0,
      }));
      roles = status.roles;
      this.previous = status;
    } catch (err) {
      kafka = { ok: false, error: (err as Error).message };
    }
    if (!this.events) this.events = this.followEvents();
    const circuits = new Map<string, boolean>();
    for (const t of this.targets) for (const [p, open] of Object.entries(t.circuits)) circuits.set(p, (circuits.get(p) ?? false) || open);
    const destinations = this.stats.destinations(knownDestinations(config)).map((d): DestinationView => {
      const provider = d.destination.startsWith('sms:') ? d.destination.slice(4) : null;
      const c = provider === null ? null : circuits.has(provider) ? (circuits.get(provider) ? 'open' : 'closed') : 'unknown';
      return { ...d, circuit: c };
    });
    this.last = { at: this.deps.now(), kafka, topics, stages, roles, targets: this.targets, destinations, recent: this.stats.recentLeads(25) };
    for (const l of this.listeners) l(this.last);
  }

  async close(): Promise<void> {
    this.stopPolling();
    this.listeners.clear();
    const events = this.events;
    this.events = null;
    await events?.then((f) => f.close()).catch(() => undefined);
  }
}
