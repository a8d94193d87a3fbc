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
import { messageOf } from '../errors.js';

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

/** Removes the group's members carrying `clientId`; returns the member ids removed. */
export async function removePredecessors(kafka: Kafka, groupId: string, clientId: string, log: Logger): Promise<string[]> {
  const admin = kafka.admin();
  let cluster: Cluster | null = null;
  try {
    await admin.connect();
    const { groups } = await admin.describeGroups([groupId]);
    const stale = (groups[0]?.members ?? []).filter((m) => m.clientId === clientId).map((m) => m.memberId);
    if (stale.length === 0) return [];
    cluster = clusterOf(kafka);
    if (!cluster) {
      log.warn({ groupId }, 'cannot reach the group coordinator through this KafkaJS version; the predecessor leaves after its session timeout');
      return [];
    }
    await cluster.connect();
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    const removed: string[] = [];
    for (const memberId of stale) {
      try {
        await coordinator.leaveGroup({ groupId, memberId });
        removed.push(memberId);
      } catch (err) {
        // UNKNOWN_MEMBER_ID: its session ended meanwhile, which is what we wanted.
        if ((err as { type?: string }).type !== 'UNKNOWN_MEMBER_ID') throw err;
      }
    }
    if (removed.length > 0) log.info({ groupId, removed }, 'removed this instance\'s predecessor from its group: its partitions move now, not after its session timeout');
    return removed;
  } catch (err) {
    log.warn({ groupId, err: messageOf(err) }, 'could not remove this instance\'s predecessor; it leaves after its session timeout');
    return [];
  } finally {
    await cluster?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
