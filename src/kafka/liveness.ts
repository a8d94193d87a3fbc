/**
 * What a stage's consumer has been up to, and when that means it is stuck: the state behind
 * /readyz and the watchdog that turns "stuck" into a crash, so the supervisor restarts the process
 * and it joins its group afresh. Kept apart from the KafkaJS adapter so the rules are tested
 * with a fake clock.
 *
 * Two ways to be stuck, both seen in chaos runs:
 *   - out of the consumer group for minutes (a rejoin KafkaJS never finishes after a broker
 *     restart: "not the correct coordinator" for 10 minutes while its partitions waited);
 *   - no fetch and no heartbeat for minutes while not paused on purpose (a batch in hand, its
 *     heartbeats answered "the coordinator is not aware of this member", texts undelivered).
 * And one that never heals, so it is acted on sooner: the group's coordinator moved (a broker
 * killed) and every commit and heartbeat is answered "not the correct coordinator". KafkaJS
 * keeps the old coordinator's connection and only refreshes metadata, so it asks the same broker
 * for ever; only a new join looks the coordinator up again. A three-broker chaos run had SMS
 * stand still 2 minutes this way (44 refused commits) until the general rule fired.
 */
import { inCauseChain } from './broker-away.js';

export interface LivenessOptions {
  now(): number;
  /** Quiet this long is reported as stalled (readiness). */
  stallAfterMs: number;
  /** Out of the group, or quiet, this long is a crash. */
  crashAfterMs: number;
  /** Answered "not the correct coordinator" this long without a good answer in between is a crash. */
  wrongCoordinatorCrashMs?: number;
  onCrash(reason: string): void;
}

/** A commit or heartbeat refused because the group's coordinator is on another broker now. */
export function isWrongCoordinator(err: unknown): boolean {
  const e = err as { type?: string; cause?: { type?: string }; message?: string } | null;
  return e?.type === 'NOT_COORDINATOR_FOR_GROUP' || e?.cause?.type === 'NOT_COORDINATOR_FOR_GROUP' || /not the correct coordinator/i.test(e?.message ?? '');
}

/**
 * A commit or heartbeat that could not reach the group's coordinator at all: its broker is gone
 * ("Broker 2 not found in the cached metadata", connection refused or closed). KafkaJS then only
 * refreshes metadata and asks the same broker again; on three brokers with one killed, SMS commits
 * failed this way for 38 s until the broker came back, while the texts in hand waited uncommitted.
 * Only a new join looks the coordinator up again.
 */
export function isCoordinatorUnreachable(err: unknown): boolean {
  const names: unknown[] = ['KafkaJSBrokerNotFound', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError'];
  return inCauseChain(err, (e) => names.includes(e.name));
}

export function createLiveness(opts: LivenessOptions) {
  const { now } = opts;
  let joined = false;
  let outOfGroupSince: number | null = now();
  let lastSignOfLife = now();
  let paused = false;
  let crashed: string | null = null;
  let stopping = false;
  let transientSince: number | null = null;
  let lastTransient = '';
  let wrongCoordinatorSince: number | null = null;

  function crash(reason: string): void {
    crashed = reason;
    opts.onCrash(reason);
  }

  return {
    /** A fetch, a heartbeat, a commit: the consumer is alive. */
    alive(): void {
      lastSignOfLife = now();
    },
    joined(): void {
      joined = true;
      outOfGroupSince = null;
      lastSignOfLife = now();
      wrongCoordinatorSince = null;
    },
    /**
     * A commit or heartbeat was answered by the coordinator: good, or refused as the wrong one.
     * Refusals count only while in the group: once the consumer has left it to rejoin, the join is
     * what looks the coordinator up again, and the out-of-group rule bounds a join that hangs.
     */
    coordinatorAnswered(wrong: boolean): void {
      if (!wrong) wrongCoordinatorSince = null;
      else if (joined) wrongCoordinatorSince ??= now();
    },
    /** A commit or heartbeat (a call to the group's coordinator), noting how it was answered. */
    async viaCoordinator<R>(call: Promise<R>): Promise<R> {
      try {
        const answer = await call;
        this.coordinatorAnswered(false);
        return answer;
      } catch (err) {
        if (isWrongCoordinator(err)) this.coordinatorAnswered(true);
        throw err;
      }
    },
    /**
     * The consumer leaves its group to rejoin (KafkaJS's REBALANCING). Ends a streak of "not the
     * correct coordinator": the rejoin is its cure. One-broker chaos: the broker back after 33 s
     * was still loading its groups, the stage's rejoin was answered "not the correct coordinator"
     * and then "loading" for 13 s, and the streak restarted the process 0.3 s before the join went
     * through; the restart (a 9 s shutdown, start-up, a second rebalance) kept both SMS providers
     * without a delivery for 28 and 42 s.
     */
    left(): void {
      joined = false;
      outOfGroupSince ??= now();
      wrongCoordinatorSince = null;
    },
    /** The consumer crashed; `final` when KafkaJS will not restart it. */
    crashed(reason: string, final: boolean): void {
      joined = false;
      outOfGroupSince ??= now();
      wrongCoordinatorSince = null; // KafkaJS restarts it: a new join, as in left()
      if (final && !stopping) crash(reason);
    },
    setPaused(p: boolean): void {
      paused = p;
    },
    get paused(): boolean {
      return paused;
    },
    get failed(): string | null {
      return crashed;
    },
    stopping(): void {
      stopping = true;
    },
    /** Work waits on a transient failure (a store, the broker): shown once it lasts. */
    waiting(err: string): void {
      transientSince ??= now();
      lastTransient = err;
    },
    /** Work finishes again. */
    progressed(): void {
      lastSignOfLife = now();
      transientSince = null;
    },
    /** The watchdog's tick: crashes the stage when it is stuck. */
    check(): void {
      if (stopping || crashed) return;
      const quiet = now() - lastSignOfLife;
      if (!paused && quiet >= opts.crashAfterMs) return crash(`no fetch or heartbeat for ${Math.round(quiet / 1000)} s`);
      if (wrongCoordinatorSince !== null && opts.wrongCoordinatorCrashMs !== undefined && now() - wrongCoordinatorSince >= opts.wrongCoordinatorCrashMs) {
        return crash(`its group coordinator moved and KafkaJS keeps asking the old one ("not the correct coordinator" for ${Math.round((now() - wrongCoordinatorSince) / 1000)} s)`);
      }
      if (outOfGroupSince !== null && now() - outOfGroupSince >= opts.crashAfterMs) crash(`not back in its consumer group for ${Math.round((now() - outOfGroupSince) / 1000)} s`);
    },
    problems(): string[] {
      const problems: string[] = [];
      if (crashed) problems.push(`consumer crashed: ${crashed}`);
      else if (!joined) problems.push('not in its consumer group (joining or rebalancing)');
      const quiet = now() - lastSignOfLife;
      if (!crashed && !paused && quiet > opts.stallAfterMs) problems.push(`stalled: no fetch or heartbeat for ${Math.round(quiet / 1000)} s`);
      if (wrongCoordinatorSince !== null) problems.push(`commits and heartbeats refused since ${new Date(wrongCoordinatorSince).toISOString()}: not the correct coordinator`);
      if (transientSince !== null && now() - transientSince > 5000) problems.push(`waiting since ${new Date(transientSince).toISOString()} on: ${lastTransient}`);
      return problems;
    },
    get ready(): boolean {
      return !stopping && this.problems().length === 0;
    },
  };
}

export type Liveness = ReturnType<typeof createLiveness>;
