/**
 * The pipeline as the broker sees it, for the dashboard and `lead-router status`: for every stage
 * of the topology, its consumer group's members and their partitions, and per partition the
 * committed offset, the end and the lag. A group with no member means nobody runs that stage:
 * its role is down, whatever any process says about itself (a process that died cannot say).
 */
import type { Admin } from '../kafka/client.js';
import { describeGroups, groupOffsets, topicEnds, type GroupMember } from '../kafka/ops-admin.js';
import { ROLES, type Role, type StageSpec, type Topology } from '../topology.js';

export interface PartitionStatus {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
  /** memberId of the member that owns it, or null while nobody does. */
  owner: string | null;
}

export interface StageStatus {
  stage: string;
  role: Role;
  group: string;
  inputs: string[];
  /** The broker's group state: Stable, PreparingRebalance, Empty, … */
  state: string;
  members: GroupMember[];
  partitions: PartitionStatus[];
  lag: number;
  /** Sum of committed offsets over its inputs: its delta over time is the stage's throughput. */
  committed: number;
}

export type RoleState = 'up' | 'down' | 'partial' | 'n/a';

export interface RoleStatus {
  role: Role;
  state: RoleState;
  /** Stages (groups) of the role that have no member. */
  downStages: string[];
}

export interface ClusterStatus {
  at: number;
  /** Topic → records ever written (sum of high watermarks): its delta is the topic's write rate. */
  topicEnds: Record<string, number>;
  stages: StageStatus[];
  roles: RoleStatus[];
}

const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);

export async function readClusterStatus(admin: Admin, topology: Topology, now: () => number = Date.now): Promise<ClusterStatus> {
  const grouped = topology.stages.filter((s): s is StageSpec & { group: string } => s.group !== null);
  const ends = await topicEnds(admin, topology.allTopics.map((t) => t.name));
  const groups = new Map((await describeGroups(admin, grouped.map((s) => s.group))).map((g) => [g.group, g]));
  const stages = await Promise.all(
    grouped.map(async (s): Promise<StageStatus> => {
      const g = groups.get(s.group);
      const members = g?.members ?? [];
      const owners = new Map<string, string>();
      for (const m of members) for (const [topic, ps] of Object.entries(m.assignment)) for (const p of ps) owners.set(`${topic}/${p}`, m.memberId);
      const offsets = await groupOffsets(admin, s.group, s.inputs, ends);
      const partitions = [...offsets].flatMap(([topic, ps]) =>
        ps.map((p) => ({ topic, partition: p.partition, committed: Number(p.committed), end: Number(p.end), lag: Number(p.lag), owner: owners.get(`${topic}/${p.partition}`) ?? null })),
      );
      return {
        stage: s.name,
        role: s.role,
        group: s.group,
        inputs: s.inputs,
        state: g?.state ?? 'Unknown',
        members,
        partitions,
        lag: sum(partitions.map((p) => p.lag)),
        committed: sum(partitions.map((p) => p.committed)),
      };
    }),
  );
  return {
    at: now(),
    topicEnds: Object.fromEntries([...ends].map(([t, ps]) => [t, sum([...ps.values()].map(Number))])),
    stages,
    roles: rolesFromStages(stages),
  };
}

/** A role is up when every one of its groups has a member, down when none has, partial between. */
export function rolesFromStages(stages: Pick<StageStatus, 'stage' | 'role' | 'members'>[]): RoleStatus[] {
  return ROLES.filter((r) => r !== 'ingest').map((role) => {
    const mine = stages.filter((s) => s.role === role);
    const down = mine.filter((s) => s.members.length === 0).map((s) => s.stage);
    const state: RoleState = mine.length === 0 ? 'n/a' : down.length === 0 ? 'up' : down.length === mine.length ? 'down' : 'partial';
    return { role, state, downStages: down };
  });
}
