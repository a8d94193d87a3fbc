/**
 * What an operator asks the broker (the dashboard, `lead-router status`, the scaling test): who is
 * in each consumer group and which partitions each member holds, where every partition of a topic
 * ends, and where each group has committed. Read-only admin calls: nothing here joins a group or
 * commits, so looking never disturbs the stages.
 */
import type { Admin } from 'kafkajs';
import kafkajs from './kafkajs.js';

const { AssignerProtocol } = kafkajs;

export interface GroupMember {
  memberId: string;
  clientId: string;
  /** Where the member connects from, as the broker sees it ("/127.0.0.1"). */
  clientHost: string;
  /** topic → partitions this member owns right now. */
  assignment: Record<string, number[]>;
}

export interface GroupDescription {
  group: string;
  /** Stable, PreparingRebalance, CompletingRebalance, Empty, Dead (the broker's words). */
  state: string;
  members: GroupMember[];
}

export interface PartitionOffsets {
  partition: number;
  /** Committed offset; 0 when the group never committed there. */
  committed: bigint;
  /** High watermark: where the next record will be written. */
  end: bigint;
  lag: bigint;
}

/** Every group's members and their partitions; a group nobody runs is "Empty" (or "Dead") with none. */
export async function describeGroups(admin: Admin, groups: string[]): Promise<GroupDescription[]> {
  if (groups.length === 0) return [];
  const { groups: described } = await admin.describeGroups(groups);
  return described.map((g) => ({
    group: g.groupId,
    state: g.state,
    members: g.members
      .map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment: decodeAssignment(m.memberAssignment) }))
      .sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId)),
  }));
}

function decodeAssignment(bytes: Buffer | null | undefined): Record<string, number[]> {
  if (!bytes || bytes.length === 0) return {}; // a member still joining has no assignment yet
  try {
    const decoded = AssignerProtocol.MemberAssignment.decode(bytes);
    return Object.fromEntries(Object.entries(decoded?.assignment ?? {}).map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
  } catch {
    return {}; // another client's assignor with its own format: membership still counts
  }
}

/** topic → partition → high watermark; a topic that does not exist (yet) has no partitions. */
export async function topicEnds(admin: Admin, topics: string[]): Promise<Map<string, Map<number, bigint>>> {
  const existing = new Set(await admin.listTopics());
  const entries = await Promise.all(
    topics.map(async (t) => [t, existing.has(t) ? new Map((await admin.fetchTopicOffsets(t)).map((p) => [p.partition, BigInt(p.high)])) : new Map<number, bigint>()] as const),
  );
  return new Map(entries);
}

/** Per input topic and partition: the group's committed offset, the end, and the lag between them. */
export async function groupOffsets(admin: Admin, group: string, topics: string[], ends: Map<string, Map<number, bigint>>): Promise<Map<string, PartitionOffsets[]>> {
  const present = topics.filter((t) => ends.has(t) && ends.get(t)!.size > 0); // asking about a missing topic fails after retries
  const committed = present.length === 0 ? [] : await admin.fetchOffsets({ groupId: group, topics: present });
  const out = new Map<string, PartitionOffsets[]>();
  for (const t of committed) {
    out.set(
      t.topic,
      t.partitions
        .map((p) => {
          const end = ends.get(t.topic)?.get(p.partition) ?? 0n;
          const at = BigInt(p.offset) < 0n ? 0n : BigInt(p.offset); // -1: never committed
          return { partition: p.partition, committed: at, end, lag: end > at ? end - at : 0n };
        })
        .sort((a, b) => a.partition - b.partition),
    );
  }
  return out;
}

/** The first offset of each partition at or after `timestamp` (the end where nothing is that new). */
export async function offsetsAtTime(admin: Admin, topic: string, timestamp: number): Promise<Map<number, bigint>> {
  return new Map((await admin.fetchTopicOffsetsByTimestamp(topic, timestamp)).map((p) => [p.partition, BigInt(p.offset)]));
}
