/**
 * The chaos run's faults, on a schedule relative to the start of the load (scaled to its length):
 *   - SIGKILL of a random role process every 10–20 s
 *   - enrich stopped (every enrich process) for up to 60 s: a backlog builds on leads.raw
 *   - one SMS provider refusing connections: texts fall back to the next provider
 *   - the Kafka broker killed (SIGKILL) and restarted; in cluster mode one of three brokers
 *   - the US buyer down, then answering 500, then 200 with a malformed body
 *   - the US buyer slow
 * Each fault records when it started and ended, so the report can say how long each took to heal.
 * The `backlog` plan is one fault only: enrich stopped while every lead arrives, then started.
 */
import type { FaultServer } from '../../sandbox/fault-server.js';
import type { Supervisor } from '../supervisor.js';

export interface FaultRecord {
  name: string;
  /** Destinations it is meant to disturb (for the stall report): buyer-us, twilio, all, ... */
  affects: string[];
  start: number;
  end: number | null;
  /** It stops deliveries to what it affects by design (the buyer down), rather than slowing them. */
  stops: boolean;
  /** For process kills: when the killed role was ready again. */
  readyAt?: number;
}

export interface FaultTargets {
  supervisor: Supervisor;
  /** Role process names and their admin ports (for readiness after a kill). */
  roles: { name: string; adminPort: number }[];
  buyerUs: FaultServer;
  smsProvider: FaultServer;
  killBroker(): Promise<string>;
  startBroker(name: string): Promise<void>;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * When a restarted role is back at work: /readyz says ready, or its only problems are waits on a
 * dependency (a destination failing, the broker retrying): its stages are in their groups, so the
 * partitions it lost have moved. Readiness alone also counts those waits, which are the other
 * faults' doing, not how long the kill took to heal.
 */
async function readyAgain(adminPort: number, since: number, timeoutMs = 120_000): Promise<number | undefined> {
  const until = since + timeoutMs;
  await sleep(1000);
  while (Date.now() < until) {
    const back = await fetch(`http://127.0.0.1:${adminPort}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => {
        if (r.ok) return true;
        const body = (await r.json()) as { stages?: { problems: string[] }[] };
        return !!body.stages?.length && body.stages.every((s) => s.problems.every((p) => p.startsWith('waiting since')));
      },
      () => false,
    );
    if (back) return Date.now();
    await sleep(250);
  }
  return undefined;
}

export type FaultPlan = 'all' | 'backlog';

/** Runs every fault on its schedule for a load of `seconds`; resolves when the last one is over. */
export async function runFaults(t: FaultTargets, seconds: number, cluster: boolean, stopped: () => boolean, plan: FaultPlan = 'all'): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const t0 = Date.now();
  const at = (fraction: number) => t0 + fraction * seconds * 1000;
  const until = async (when: number) => {
    while (Date.now() < when && !stopped()) await sleep(Math.min(250, when - Date.now()));
  };
  const window = async (name: string, affects: string[], start: number, ms: number, begin: () => Promise<void> | void, finish: () => Promise<void> | void, stops = true) => {
    await until(start);
    if (stopped()) return;
    const r: FaultRecord = { name, affects, stops, start: Date.now(), end: null };
    records.push(r);
    t.log(`fault: ${name} (${Math.round(ms / 1000)} s)`);
    await begin();
    await sleep(ms);
    await finish();
    r.end = Date.now();
    t.log(`fault over: ${name}`);
  };

  const enrich = t.roles.filter((r) => r.name.startsWith('enrich'));
  if (plan === 'backlog') {
    // Enrich down for the whole load and a little after: every lead waits on leads.raw at once.
    await window('enrich stopped while every lead arrives', ['all'], t0, seconds * 1000 + 5000, () => enrich.forEach((e) => t.supervisor.pause(e.name)), () => enrich.forEach((e) => t.supervisor.resume(e.name)));
    return records;
  }

  const kills = (async () => {
    let next = at(0.05);
    while (next < at(0.95)) {
      await until(next);
      if (stopped()) return;
      const candidates = t.roles.filter((r) => t.supervisor.running(r.name));
      const victim = candidates[Math.floor(Math.random() * candidates.length)];
      if (victim && t.supervisor.kill(victim.name, 'SIGKILL')) {
        const r: FaultRecord = { name: `SIGKILL ${victim.name}`, affects: ['all'], stops: false, start: Date.now(), end: Date.now() };
        records.push(r);
        t.log(`fault: SIGKILL ${victim.name}`);
        void readyAgain(victim.adminPort, r.start).then((readyAt) => readyAt && (r.readyAt = readyAt));
      }
      next = Date.now() + 10_000 + Math.random() * 10_000;
    }
  })();

  const scripted = (async () => {
    await window('enrich stopped (backlog)', ['all'], at(0.15), Math.min(60_000, seconds * 200), () => enrich.forEach((e) => t.supervisor.pause(e.name)), () => enrich.forEach((e) => t.supervisor.resume(e.name)));
    await window('SMS provider twilio refusing connections', ['twilio'], at(0.35), Math.min(30_000, seconds * 120), () => t.smsProvider.setMode('refuse'), () => t.smsProvider.setMode('healthy'));
    let broker = '';
    await window(cluster ? 'one of three Kafka brokers killed' : 'Kafka broker killed', cluster ? [] : ['all'], at(0.5), cluster ? 20_000 : 5_000, async () => void (broker = await t.killBroker()), () => t.startBroker(broker), !cluster);
    const step = Math.min(10_000, seconds * 40);
    await window('buyer-us down', ['buyer-us'], at(0.65), step, () => t.buyerUs.setMode('down'), () => undefined);
    await window('buyer-us answering 500', ['buyer-us'], Date.now(), step, () => t.buyerUs.setMode('error500'), () => undefined);
    await window('buyer-us answering 200 with a malformed body', ['buyer-us'], Date.now(), step, () => t.buyerUs.setMode('malformed'), () => t.buyerUs.setMode('healthy'));
    await window('buyer-us slow (2 s per answer)', ['buyer-us'], at(0.85), Math.min(15_000, seconds * 60), () => t.buyerUs.setMode('slow', 2000), () => t.buyerUs.setMode('healthy'), false);
  })();
  await Promise.all([kills, scripted]);
  return records;
}
