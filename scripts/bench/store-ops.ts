/**
 * MongoDB-wire commands per lead, as FerretDB counts them (its debug endpoint's
 * ferretdb_client_requests_total{command}): every insert, find, update and delete the router
 * sends to the store, read before and after a load step. FerretDB turns each into PostgreSQL
 * work, so this is the request count behind the store's share of the CPU.
 */
async function read(url: string): Promise<Map<string, number> | null> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(3000) })).text();
    const counts = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line.startsWith('ferretdb_client_requests_total{')) continue;
      const command = /command="([^"]*)"/.exec(line)?.[1] ?? '?';
      counts.set(command, (counts.get(command) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return counts;
  } catch {
    return null; // not FerretDB, or its debug endpoint is elsewhere: nothing to report
  }
}

export async function countStoreOps(url = 'http://127.0.0.1:8088/debug/metrics'): Promise<{ stop(leads: number): Promise<string> }> {
  const before = await read(url);
  return {
    async stop(leads) {
      const after = await read(url);
      if (!before || !after) return 'store commands per lead: not read (FerretDB debug endpoint not answering)';
      const per = [...after]
        .map(([command, n]) => ({ command, n: n - (before.get(command) ?? 0) }))
        .filter((c) => c.n > 0)
        .sort((a, b) => b.n - a.n);
      const total = per.reduce((s, c) => s + c.n, 0);
      return `store commands per lead: ${per.map((c) => `${c.command} ${(c.n / Math.max(1, leads)).toFixed(2)}`).join(', ')}; total ${(total / Math.max(1, leads)).toFixed(2)}`;
    },
  };
}
