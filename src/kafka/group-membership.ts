/**
 * What a stage's consumer knows about its place in the consumer group, between KafkaJS's events
 * (join, crash) and its eachBatch calls, and the one way a stage makes KafkaJS's runner rejoin:
 * throwing, from eachBatch, an error the runner treats as "rebalancing".
 *
 * Why the stage has to ask for a rejoin itself:
 *   - a commit or heartbeat heard that the group's coordinator moved or cannot be reached:
 *     KafkaJS keeps asking the old one, and only a join looks the coordinator up again;
 *   - a heartbeat heard the group rebalancing (or forget this member): the fetch's other
 *     partitions are not worked, since nothing they did could be committed. Worked one by one,
 *     each partition's batch ran until its next heartbeat and held the rebalance up by that much
 *     (chaos: 5 s for six partitions of backlog as a second enrich process joined).
 * And why it counts crashes: KafkaJS restarts a crashed consumer as a new member without waiting
 * for the batches in flight, so a batch that began before a crash may no longer be this member's.
 */
import type { Logger } from 'pino';
import kafkajs from './kafkajs.js';

const REBALANCE_ERRORS = ['REBALANCE_IN_PROGRESS', 'UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION'];
const hearsRebalance = (err: unknown): boolean => REBALANCE_ERRORS.includes((err as { type?: string }).type ?? '');

export interface GroupMembership {
  /** A commit or heartbeat says the coordinator moved or cannot be reached: rejoin at the next eachBatch. */
  coordinatorLost(why: string): void;
  /** A heartbeat's error; true when the group is known to be rebalancing (this one or an earlier). */
  heard(err: unknown): boolean;
  /** Throws the error that makes KafkaJS's runner rejoin, when one is due (never while stopping). */
  rejoinIfDue(): void;
  /** GROUP_JOIN: a new generation, every earlier signal answered. */
  joined(memberId: string): void;
  /** CRASH: the member id the crash left behind (to remove from the group), if any. */
  crashed(): string | null;
  /** Crashes so far: a batch that saw another crash begin while it ran is stale. */
  readonly crashes: number;
  /** Crashed and not yet joined again: batches of the crashed member's last fetch are not worked. */
  readonly crashedSinceJoin: boolean;
  /** Joins so far: removing a crashed member stops once the consumer has joined again. */
  readonly joins: number;
}

export function createGroupMembership(opts: { log: Logger; groupId: string; isStopping: () => boolean }): GroupMembership {
  let rejoinWanted: string | null = null;
  let rebalanceHeard: unknown = null;
  let memberId: string | null = null;
  let joins = 0;
  let crashes = 0;
  let crashedSinceJoin = false;

  return {
    coordinatorLost(why) {
      rejoinWanted ??= why;
    },
    heard(err) {
      if (hearsRebalance(err)) rebalanceHeard ??= err;
      return rebalanceHeard !== null;
    },
    rejoinIfDue() {
      if (opts.isStopping()) return;
      if (rejoinWanted) {
        const why = rejoinWanted;
        rejoinWanted = null;
        opts.log.warn({ group: opts.groupId, why }, 'rejoining the group to find its coordinator again');
        throw Object.assign(new kafkajs.KafkaJSError(`rejoining to find the group coordinator again (${why})`, { retriable: true }), { type: 'NOT_COORDINATOR_FOR_GROUP' });
      }
      // Every batch until the consumer has joined again; the heartbeat's own error, which
      // KafkaJS's runner answers by rejoining at once.
      if (rebalanceHeard) throw rebalanceHeard;
    },
    joined(id) {
      memberId = id;
      joins++;
      crashedSinceJoin = false;
      rejoinWanted = null;
      rebalanceHeard = null;
    },
    crashed() {
      crashes++;
      crashedSinceJoin = true;
      const left = memberId;
      memberId = null;
      rebalanceHeard = null; // KafkaJS restarts it: a new member, joining afresh
      return left;
    },
    get crashes() {
      return crashes;
    },
    get crashedSinceJoin() {
      return crashedSinceJoin;
    },
    get joins() {
      return joins;
    },
  };
}
