/**
 * Peak resident memory per process while a load runs (issue 11: no role above 300 MB RSS at
 * 102,000 leads/min), sampled from /proc every 500 ms: what the kernel charges the process, heap
 * and buffers and native memory alike, which process.memoryUsage() inside it would not show for
 * the other roles.
 */
import fs from 'node:fs';

function rssMb(pid: string): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null; // exited, or no /proc here
  }
}

/** Samples every process in `pids` (pid → name) until stop(), which returns the peak per name in MB. */
export function sampleRss(pids: Record<string, string>, everyMs = 500): { stop(): Record<string, number> } {
  const peak: Record<string, number> = {};
  const sample = () => {
    for (const [pid, name] of Object.entries(pids)) {
      const mb = rssMb(pid);
      if (mb !== null) peak[name] = Math.max(peak[name] ?? 0, mb);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export function formatRss(peak: Record<string, number>): string {
  return Object.entries(peak).map(([name, mb]) => `${name} ${Math.round(mb)} MB`).join(', ');
}
