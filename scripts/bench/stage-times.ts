/**
 * Per process, from its /metrics after a run: the mean time of one produce request (acks=all)
 * and of one batch (or pipelined job) per stage, decode to commit. With the per-hop times from
 * the histories (hops.ts), it says whether a hop's time goes to Kafka, to the stage's own work, or
 * to waiting for a fetch.
 */
const sample = (text: string, name: string, labels = ''): number => {
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && line.includes(labels)) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  return total;
};

export async function stageTimes(adminPorts: number[]): Promise<string[]> {
  const lines: string[] = [];
  for (const port of adminPorts) {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    if (!text) continue;
    const role = /leadrouter_role_ready\{role="([^"]+)"\}/.exec(text)?.[1] ?? String(port);
    const produceCount = sample(text, 'leadrouter_produce_duration_seconds_count');
    const lag = sample(text, 'leadrouter_process_nodejs_eventloop_lag_p99_seconds');
    const parts = [`event loop lag p99 ${(1000 * lag).toFixed(0)} ms`, `produce ${produceCount} requests, mean ${((1000 * sample(text, 'leadrouter_produce_duration_seconds_sum')) / Math.max(1, produceCount)).toFixed(1)} ms`];
    for (const m of text.matchAll(/^leadrouter_stage_batch_duration_seconds_count\{stage="([^"]+)"\} (\d+)/gm)) {
      const [, stage, count] = m;
      const sum = sample(text, 'leadrouter_stage_batch_duration_seconds_sum', `stage="${stage}"`);
      const records = sample(text, 'leadrouter_stage_records_in_total', `stage="${stage}"`);
      if (Number(count) > 0) parts.push(`${stage}: ${count} batches of ${(records / Number(count)).toFixed(1)} records, mean ${((1000 * sum) / Number(count)).toFixed(1)} ms`);
    }
    lines.push(`times ${role}: ${parts.join('; ')}`);
  }
  return lines;
}
