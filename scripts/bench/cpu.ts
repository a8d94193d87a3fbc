/**
 * CPU time per lead, for every process on the machine (issue 11: "find out where the time goes"):
 * the router's roles, the broker, the registry, FerretDB, PostgreSQL, Elasticsearch, the load
 * generator and the recording destinations. At 5,000 leads/min the machine is saturated, so the
 * question for latency is which process spends the CPU per lead, not which hop waits longest.
 * Read from /proc/<pid>/stat (utime + stime) at the start and end of a load step; a process that
 * started during the step counts from zero, one that exited is missed.
 */
import fs from 'node:fs';
import os from 'node:os';

const TICKS_PER_S = 100; // USER_HZ on Linux

interface Proc {
  name: string;
  ticks: number;
}

function kindOf(pid: string, roles: Record<string, string>): string | null {
  if (roles[pid]) return roles[pid]!;
  let cmd: string;
  let comm: string;
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
  if (cmd.includes('kafka.Kafka')) return 'kafka';
  if (cmd.includes('org.elasticsearch')) return 'elasticsearch';
  if (/apicurio|quarkus/i.test(cmd)) return 'registry';
  if (comm === 'postgres' || cmd.startsWith('postgres')) return 'postgresql';
  if (/ferretdb/i.test(comm) || /ferretdb/i.test(cmd)) return 'ferretdb';
  if (cmd.includes('load.mjs')) return 'load generator';
  if (cmd.includes('recorder.mjs')) return 'destinations';
  if (/redis-server/.test(cmd)) return 'redis';
  if (cmd.includes('queue-router')) return 'queue design';
  return null; // the rest of the machine (this script, tsx, the shell) is left out
}

function snapshot(roles: Record<string, string>): Map<string, Proc> {
  const out = new Map<string, Proc>();
  let pids: string[] = [];
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out; // no /proc here
  }
  for (const pid of pids) {
    const name = kindOf(pid, roles);
    if (!name) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
      out.set(pid, { name, ticks: Number(fields[11]) + Number(fields[12]) }); // utime, stime
    } catch {
      // exited between the listing and the read
    }
  }
  return out;
}

/** Starts counting; stop() gives CPU seconds per process kind over the interval, busiest first. */
export interface CpuUse {
  wallSeconds: number;
  used: { name: string; seconds: number }[];
}

export function countCpu(roles: Record<string, string> = {}): { stop(): CpuUse } {
  const before = snapshot(roles);
  const startedAt = Date.now();
  return {
    stop() {
      const after = snapshot(roles);
      const per = new Map<string, number>();
      for (const [pid, p] of after) per.set(p.name, (per.get(p.name) ?? 0) + (p.ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_S);
      return { wallSeconds: (Date.now() - startedAt) / 1000, used: [...per].map(([name, seconds]) => ({ name, seconds })).sort((a, b) => b.seconds - a.seconds) };
    },
  };
}

/** "kafka 12.3 ms, ferretdb 8.1 ms, ..." per lead, and the share of the machine's cores. */
export function formatCpu({ used, wallSeconds }: CpuUse, leads: number, cores = os.availableParallelism()): string {
  const total = used.reduce((s, u) => s + u.seconds, 0);
  const per = used.map((u) => `${u.name} ${((u.seconds * 1000) / Math.max(1, leads)).toFixed(1)}`).join(', ');
  return `CPU ms per lead: ${per}; total ${((total * 1000) / Math.max(1, leads)).toFixed(1)} ms (${Math.round((100 * total) / (wallSeconds * cores))}% of ${cores} cores)`;
}
