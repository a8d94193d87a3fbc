/**
 * Sums up the V8 CPU profiles (`node --cpu-prof`) the router's roles wrote during a bench run:
 * per role, the share of busy time in each package (kafkajs, avsc, mongodb, undici, pino…), in the
 * router's own files, in Node itself and in the garbage collector. Self time, from the samples.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which bucket a function's self time goes to. */
function bucketOf(frame: ProfileNode['callFrame']): string {
  if (frame.functionName === '(idle)') return '(idle)';
  if (frame.functionName.startsWith('(')) return frame.functionName; // (garbage collector), (program)
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (nm) return nm[1]!;
  const own = /\/(src|dist)\/(.+)$/.exec(frame.url);
  if (own) return `router ${own[2]!.replace(/\.(ts|js)$/, '')}`;
  if (frame.url.startsWith('node:') || frame.url === '') return 'node (core, native)';
  return path.basename(frame.url);
}

export function summarizeProfile(profile: CpuProfile, top = 10): { busyMs: number; totalMs: number; buckets: [string, number][] } {
  const bucketById = new Map(profile.nodes.map((n) => [n.id, bucketOf(n.callFrame)]));
  const us = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const b = bucketById.get(id) ?? '?';
    us.set(b, (us.get(b) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...us.values()].reduce((a, b) => a + b, 0);
  const busyUs = totalUs - (us.get('(idle)') ?? 0);
  us.delete('(idle)');
  const buckets = [...us].sort((a, b) => b[1] - a[1]).slice(0, top).map(([b, t]): [string, number] => [b, t / busyUs]);
  return { busyMs: busyUs / 1000, totalMs: totalUs / 1000, buckets };
}

/** One line per role: busy share of its wall time and where the busy time went. */
export function summarizeProfiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [`no profiles in ${dir}`];
  const roles = fs.existsSync(path.join(dir, 'roles.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'roles.json'), 'utf8')) as Record<string, string>) : {};
  const lines: string[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const pid = file.split('.')[3] ?? '?';
    const role = roles[pid];
    if (!role) continue; // not a role (npx, tsc)
    const s = summarizeProfile(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile);
    const where = s.buckets.map(([b, share]) => `${b} ${(share * 100).toFixed(0)}%`).join(', ');
    lines.push(`profile ${role}: busy ${((100 * s.busyMs) / s.totalMs).toFixed(0)}% of ${(s.totalMs / 1000).toFixed(0)} s; ${where}`);
  }
  return lines.length > 0 ? lines : [`no role profiles in ${dir}`];
}
