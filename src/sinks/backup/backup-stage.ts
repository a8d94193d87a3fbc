/**
 * The backup stage: leads.backup → the original destination again, when each record is due.
 *
 * Every record gets its own timer, so a lead waiting ten minutes never holds back one due in a
 * second (no head-of-line blocking). Held records are not committed until they are settled;
 * the stage runner's ledger keeps the commit point at the oldest unsettled one, so a crash
 * re-reads them. To keep that window short, a record due later than the hold horizon is
 * re-queued (written back to leads.backup unchanged, acks=all) when the horizon passes.
 * The outcome of a redelivery goes through the same settle() as a first delivery: delivered,
 * another backup record with a longer delay, or leads.dlq with the reason.
 */
import type { ConsumedLead, StageContext } from '../../kafka/stage-runner.js';
import { settle } from '../outcomes.js';
import type { Sink } from '../sink.js';
import type { StageSpec } from '../../topology.js';
import { startFromSpec, type StageDeps } from '../../stages/context.js';

export interface BackupOptions {
  /** Sink for a destination ("primary:buyer-us", "sms:twilio", "search:leads"), or null if none. */
  sinkFor(destination: string): Sink | null;
  holdHorizonMs: number;
  maxHeld: number;
}

export function startBackupStage(deps: StageDeps, spec: StageSpec, opts: BackupOptions) {
  const timers = new Set<NodeJS.Timeout>();
  let generation = 0;

  async function redeliver(lead: ConsumedLead, ctx: StageContext): Promise<void> {
    const destination = lead.event.delivery?.destination ?? '';
    const sink = opts.sinkFor(destination);
    const outcome = sink
      ? ((await sink.deliver([lead.event]))[0] ?? { status: 'retry' as const, error: 'sink returned no outcome' })
      : ({ status: 'dead', reason: `no sink for destination "${destination}" in this process` } as const);
    const settled = settle(lead, outcome, {
      stage: spec.name,
      policy: deps.config.router.retry,
      backupTopic: deps.topology.topics.backup,
      dlqTopic: deps.topology.topics.dlq,
      now: deps.now(),
    });
    await ctx.complete(lead, settled.outputs);
    for (const h of settled.history) deps.history.record(h);
  }

  function hold(lead: ConsumedLead, ctx: StageContext): void {
    const due = lead.event.delivery?.nextAttemptAt ?? 0;
    const wait = Math.max(0, due - deps.now());
    const requeue = wait > opts.holdHorizonMs;
    const myGeneration = generation;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (myGeneration !== generation) return; // partition reassigned: its new owner re-reads the record
      const work = requeue
        ? ctx.complete(lead, [{ topic: deps.topology.topics.backup, key: lead.event.leadId, event: lead.event }])
        : redeliver(lead, ctx);
      work.catch((err: unknown) => {
        // Not settled, so not committed: the record is read again after a restart or rebalance.
        ctx.log.error({ err: (err as Error).message, leadId: lead.event.leadId }, 'backup redelivery failed to settle');
      });
    }, Math.min(wait, opts.holdHorizonMs));
    timers.add(timer);
  }

  return startFromSpec(deps, spec, {
    maxPending: opts.maxHeld,
    onRebalance() {
      generation++;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
    async handle(leads, ctx) {
      for (const lead of leads) hold(lead, ctx);
      return { outputs: [], deferred: leads };
    },
  });
}
