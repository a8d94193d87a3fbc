/**
 * `lead-router status [--json]`: every consumer group of the topology with its members and the
 * partitions each holds, the lag per partition, whether each role runs at all (a group with no
 * member: down), and each role process's readiness from its admin port (ADMIN_TARGETS).
 * Exit code 0 when every group has a member and every admin port answers ready, 1 otherwise.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { parseAdminTargets, probeTargets, type TargetState } from './admin-targets.js';
import { readClusterStatus, type ClusterStatus } from './cluster-status.js';
import { openOps } from './ops-context.js';

export interface StatusReport extends ClusterStatus {
  targets: TargetState[];
  healthy: boolean;
}

export async function readStatus(config: Config, log: Logger): Promise<StatusReport> {
  const ops = await openOps(config, log, 'status');
  try {
    const [cluster, targets] = await Promise.all([readClusterStatus(ops.admin, ops.topology), probeTargets(parseAdminTargets(config.env.ADMIN_TARGETS))]);
    const healthy = cluster.stages.every((s) => s.members.length > 0) && targets.every((t) => t.ready);
    return { ...cluster, targets, healthy };
  } finally {
    await ops.close();
  }
}

const short = (memberId: string) => (memberId.length > 18 ? `…${memberId.slice(-12)}` : memberId);

export function formatStatus(r: StatusReport): string {
  const out: string[] = [`lead-router status at ${new Date(r.at).toISOString()}`, '', 'Consumer groups:'];
  for (const s of r.stages) {
    out.push(`  ${s.stage.padEnd(20)} group ${s.group}  ${s.state}  ${s.members.length} member(s)  lag ${s.lag}${s.members.length === 0 ? '  ← DOWN: nobody consumes it' : ''}`);
    for (const m of s.members) {
      const parts = Object.entries(m.assignment).map(([t, ps]) => `${t}[${ps.join(',')}]`).join(' ') || '(no partitions yet)';
      out.push(`    member ${m.clientId} ${short(m.memberId)} from ${m.clientHost}: ${parts}`);
    }
    for (const p of s.partitions) {
      out.push(`    ${`${p.topic}/${p.partition}`.padEnd(34)} committed ${String(p.committed).padStart(8)}  end ${String(p.end).padStart(8)}  lag ${String(p.lag).padStart(6)}  ${p.owner ? `owner ${short(p.owner)}` : 'no owner'}`);
    }
  }
  out.push('', 'Roles (from group membership):');
  for (const role of r.roles) {
    out.push(`  ${role.role.padEnd(14)} ${role.state}${role.downStages.length ? ` (no member: ${role.downStages.join(', ')})` : ''}`);
  }
  out.push('', 'Role processes (admin ports, ADMIN_TARGETS):');
  if (r.targets.length === 0) out.push('  none configured');
  for (const t of r.targets) {
    const state = !t.reachable ? 'UNREACHABLE' : t.ready ? 'ready' : 'NOT READY';
    out.push(`  ${t.name.padEnd(10)} ${t.url.padEnd(26)} ${state}${t.roles.length ? `  roles: ${t.roles.join(', ')}` : ''}`);
    if (!t.ready) for (const p of t.problems.slice(0, 5)) out.push(`    - ${p}`);
  }
  out.push('', r.healthy ? 'all groups have members and every role process is ready' : 'something is down or not ready (see above)');
  return out.join('\n');
}

export async function runStatusCli(args: string[], config: Config, log: Logger, write: (text: string) => void): Promise<number> {
  const report = await readStatus(config, log);
  write(args.includes('--json') ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.healthy ? 0 : 1;
}
