/**
 * A restarted process takes its predecessor's place in its consumer groups at once, instead of
 * after the dead process's session timeout.
 *
 * KafkaJS has no static membership (KIP-345; tulios/kafkajs#884). A process killed and restarted
 * joins as a new member, and with the eager protocol the group cannot finish its rebalance until
 * the dead member's session expires: every partition of the group stands still meanwhile, the
 * live members' included. Given a stable instance name (LEAD_ROUTER_INSTANCE: the supervisor of
 * `npm start` sets it; a StatefulSet pod name or a systemd instance in production), a process's
 * client id carries that name, and before joining a group it asks the coordinator to remove every
 * member with the same client id: only its own dead predecessor can have it. LeaveGroup names the
 * member to remove; the broker does not require it to come from that member's connection.
 *
 * Best effort: any failure is logged and the process joins as before (the session timeout then
 * applies). Two live processes given the same instance name by mistake cost each other one extra
 * rebalance at start, nothing more: the removed one rejoins.
 */
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Abandoned, messageOf } from '../errors.js';
import { withBackoff } from './backoff.js';
import { untilBrokerAnswers } from './broker-away.js';

/** The client id of a process that has a stable instance name, or the plain one without it. */
export function instanceClientId(base: string, instance: string | undefined): string {
  return instance ? `${base}@${instance}` : base;
}

interface GroupCoordinator {
  leaveGroup(req: { groupId: string; memberId: string }): Promise<unknown>;
}
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(req: { groupId: string }): Promise<GroupCoordinator>;
}

/**
 * KafkaJS's admin has no call to remove another member, but its Cluster (the same one its admin
 * and consumers use) reaches the group coordinator, whose leaveGroup takes any member id. The
 * factory is a symbol-keyed instance property of the Kafka client in kafkajs 2.x; if a later
 * version moves it, this returns null and predecessors are left to their session timeout.
 */
function clusterOf(kafka: Kafka): Cluster | null {
  const key = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const create = key ? (kafka as unknown as Record<symbol, unknown>)[key] : undefined;
  return typeof create === 'function' ? (create as (o: object) => Cluster)({ allowAutoTopicCreation: false }) : null;
}

/**
 * Removes the members carrying `clientId` from each of these groups; returns the member ids
 * removed. Called first thing at start-up, alongside topics and schemas, not as each stage joins:
 * on a saturated machine a restarted process reached its stages 8-10 s after its spawn, by when
 * the session timeout had nearly done the same, and a second kill in that role meanwhile left
 * the group waiting on two dead members (chaos: enrich stood still 10 s).
 */
export async function removePredecessors(kafka: Kafka, groupIds: string[], clientId: string, log: Logger, opts: { until?: number; brokerWaitMs?: number } = {}): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const once = async () => {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { groups } = await admin.describeGroups(groupIds);
      const removed = await Promise.all(
        groups.map(async (g) => {
          const stale = g.members.filter((m) => m.clientId === clientId).map((m) => m.memberId);
          const gone = stale.length > 0 ? await removeMembers(kafka, g.groupId, stale, opts.until) : [];
          if (gone.length > 0) log.info({ groupId: g.groupId, removed: gone }, 'removed this instance\'s predecessor from its group: its partitions move now, not after its session timeout');
          return gone;
        }),
      );
      return removed.flat();
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  };
  try {
    // A process started while the broker was away: once it is back, the group it reloads still
    // lists the dead predecessor, and the rebalance would wait out its session timeout.
    return opts.brokerWaitMs ? await untilBrokerAnswers(once, { waitMs: opts.brokerWaitMs, onWait: () => undefined }) : await once();
  } catch (err) {
    log.warn({ groups: groupIds, err: messageOf(err) }, 'could not remove this instance\'s predecessor; it leaves after its session timeout');
    return [];
  }
}

class NoCoordinatorAccess extends Error {}

/**
 * Asks the group's coordinator to remove these members; returns those it removed. One it no
 * longer knows (UNKNOWN_MEMBER_ID: its session ended meanwhile) is gone, which is what we wanted.
 * None after `until` (epoch ms).
 */
async function removeMembers(kafka: Kafka, groupId: string, memberIds: string[], until = Infinity): Promise<string[]> {
  const cluster = clusterOf(kafka);
  if (!cluster) throw new NoCoordinatorAccess('cannot reach the group coordinator through this KafkaJS version');
  try {
    await cluster.connect();
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    const removed: string[] = [];
    for (const memberId of memberIds) {
      // Past the caller's deadline the member list may be stale: a process started meanwhile
      // under the same client id has a member that must not be removed.
      if (Date.now() > until) break;
      try {
        await coordinator.leaveGroup({ groupId, memberId });
        removed.push(memberId);
      } catch (err) {
        if ((err as { type?: string }).type !== 'UNKNOWN_MEMBER_ID') throw err;
      }
    }
    return removed;
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

/**
 * The same problem inside one process: KafkaJS restarts a crashed consumer (the broker went away,
 * the coordinator moved) as a **new** member. It tried to leave on the way down, but with the
 * broker gone that LeaveGroup went nowhere, and the group's coordinator, once back (or on the broker
 * that took the group over), still lists the old member: the eager rebalance its new member starts
 * then waits a whole session timeout for a member that will never rejoin, and every partition of
 * the group stands still meanwhile. In a one-broker chaos run every group did this after the
 * broker restart (first delivery 11 s after the broker was back, with a 10 s session timeout).
 *
 * The member id is this consumer's own (from its last GROUP_JOIN) and KafkaJS has abandoned it, so
 * removing it is always safe. Tried until it is gone, the consumer has joined again (then the
 * rebalance is over and the old member with it), or `abandon()` says stop.
 */
export async function retireCrashedMember(
  kafka: Kafka,
  groupId: string,
  memberId: string,
  opts: { abandon(): boolean; log: Logger; sleep?: (ms: number) => Promise<void> },
): Promise<boolean> {
  try {
    await withBackoff(() => removeMembers(kafka, groupId, [memberId]), { initialMs: 250, maxMs: 1000, abandon: opts.abandon, ...(opts.sleep ? { sleep: opts.sleep } : {}) }, (err) => !(err instanceof NoCoordinatorAccess));
    opts.log.info({ groupId, memberId }, 'removed this consumer\'s crashed member from its group: the rebalance need not wait out its session timeout');
    return true;
  } catch (err) {
    if (!(err instanceof Abandoned)) opts.log.warn({ groupId, err: messageOf(err) }, 'could not remove this consumer\'s crashed member; it leaves after its session timeout');
    return false;
  }
}
