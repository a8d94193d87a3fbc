/**
 * The role processes' admin ports, as operators' tools find them: ADMIN_TARGETS, a comma-separated
 * list of `name=url` (or bare URLs), defaulting (src/config.ts) to the ports `npm start` gives its
 * four processes.
 * A process's /readyz says whether it is ready and which roles it runs; its /metrics carries what
 * only that process knows (an SMS provider's circuit lives in the sink process that texts).
 */
export interface AdminTarget {
  name: string;
  url: string;
}

export function parseAdminTargets(text: string): AdminTarget[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const eq = entry.indexOf('=');
      const [name, url] = eq > 0 && !entry.slice(0, eq).includes('/') ? [entry.slice(0, eq), entry.slice(eq + 1)] : [`target-${i + 1}`, entry];
      return { name, url: url.replace(/\/+$/, '') };
    });
}

export interface TargetState extends AdminTarget {
  /** Answered at all (alive). */
  reachable: boolean;
  ready: boolean;
  roles: string[];
  problems: string[];
  /** SMS provider → circuit open, from leadrouter_sms_provider_circuit_open. */
  circuits: Record<string, boolean>;
}

async function getText(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
}

/** Values of one metric by one label, from the Prometheus text format. */
export function metricByLabel(text: string, metric: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const line = new RegExp(`^${metric}\\{([^}]*)\\}\\s+(\\S+)`, 'gm');
  for (const m of text.matchAll(line)) {
    const value = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(m[1] ?? '')?.[1];
    if (value !== undefined) out[value] = Number(m[2]);
  }
  return out;
}

export async function probeTarget(target: AdminTarget, timeoutMs = 1500): Promise<TargetState> {
  const state: TargetState = { ...target, reachable: false, ready: false, roles: [], problems: [], circuits: {} };
  try {
    const ready = await getText(`${target.url}/readyz`, timeoutMs);
    state.reachable = true;
    const body = JSON.parse(ready.text) as { ready?: boolean; problems?: string[]; roles?: string[] };
    state.ready = ready.status === 200 && body.ready === true;
    state.problems = body.problems ?? [];
    state.roles = body.roles ?? [];
  } catch (err) {
    state.problems = [`not reachable: ${(err as Error).message}`];
    return state;
  }
  try {
    const metrics = await getText(`${target.url}/metrics`, timeoutMs);
    state.circuits = Object.fromEntries(Object.entries(metricByLabel(metrics.text, 'leadrouter_sms_provider_circuit_open', 'provider')).map(([p, v]) => [p, v > 0]));
  } catch {
    // readiness is what matters; a metrics scrape that fails leaves the circuits unknown
  }
  return state;
}

export function probeTargets(targets: AdminTarget[], timeoutMs?: number): Promise<TargetState[]> {
  return Promise.all(targets.map((t) => probeTarget(t, timeoutMs)));
}
