/**
 * A stage that holds each record until its delivery.nextAttemptAt, then acts on it: the backup
 * stage redelivers, the quiet-hours release puts the text back on its provider's topic.
 *
 * Every record gets its own timer, so a lead waiting ten minutes never holds back one due in a
 * second (no head-of-line blocking). Held records are not committed until they are settled;
 * the stage runner's ledger keeps the commit point at the oldest unsettled one, so a crash
 * re-reads them. To keep that window short (and to follow a clock that moves, in tests), a
 * record is looked at again at least every hold horizon: due → act; not due → re-queued
 * (written back to its topic unchanged, acks=all, then its offset is done).
 */
import type { ConsumedLead, Output, StageContext } from '../kafka/stage-runner.js';
import type { StageSpec } from '../topology.js';
import { startFromSpec, type StageDeps } from './context.js';

export interface DelayOptions {
  holdHorizonMs: number;
  maxHeld: number;
  /** What to produce when the record is due (its offset is committed after these are acked). */
  onDue(lead: ConsumedLead): Promise<Output[]>;
}

export function startDelayStage(deps: StageDeps, spec: StageSpec, opts: DelayOptions) {
  const timers = new Set<NodeJS.Timeout>();
  let generation = 0;

  function hold(lead: ConsumedLead, ctx: StageContext): void {
    const due = lead.event.delivery?.nextAttemptAt ?? 0;
    const myGeneration = generation;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (myGeneration !== generation) return; // partition reassigned: its new owner re-reads the record
        const work =
          deps.now() >= due
            ? opts.onDue(lead).then((outputs) => ctx.complete(lead, outputs))
            : ctx.complete(lead, [{ topic: lead.topic, key: lead.key ?? lead.event.leadId, event: lead.event }]);
        work.catch((err: unknown) => {
          // Not settled, so not committed: the record is read again after a restart or rebalance.
          ctx.log.error({ err: (err as Error).message, leadId: lead.event.leadId }, 'delayed record failed to settle');
        });
      },
      Math.max(0, Math.min(due - deps.now(), opts.holdHorizonMs)),
    );
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
