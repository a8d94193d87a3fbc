/**
 * A stage that holds each record until its delivery.nextAttemptAt, then puts it back on the
 * topic it must go to: the backup stage sends a failed delivery back to its destination's topic
 * (the sink there tries again), the quiet-hours release sends a text back to its provider's.
 * Nothing here calls a destination: sinks stay the only ones that do.
 *
 * Every record gets its own timer, so a lead waiting ten minutes never holds back one due in a
 * second (no head-of-line blocking). Held records are not committed until they are settled; the
 * ledger keeps the commit point at the oldest unsettled one, so a crash re-reads them. To keep
 * that window short (and to follow a clock that moves, in tests), a record is looked at again at
 * least every hold horizon: due → onward; not due → re-queued (written back to its topic
 * unchanged, acks=all, then its offset is done).
 *
 * A record always settles: a transient produce failure is retried (by the batch step); a record
 * that cannot go onward (a provider removed from config) is dead-lettered; anything else is held
 * again and retried later. A rebalance drops what is held: the new owner re-reads it.
 */
import { Abandoned } from '../kafka/backoff.js';
import type { Consumed, Output, StageContext } from '../kafka/stage-contract.js';
import type { LeadEvent } from '../lead.js';
import type { StageSpec } from '../topology.js';
import { messageOf } from '../errors.js';
import { reportDelayStage } from '../metrics.js';
import { startLeadStage, type StageDeps } from './context.js';
import { deadLetter, withEvents } from './outcomes.js';

export interface DelayOptions {
  holdHorizonMs: number;
  maxHeld: number;
  /** What to produce when the record is due. Throw (or return a dead letter) if it cannot go onward. */
  onDue(lead: Consumed<LeadEvent>): Output[];
  /** Pause before trying a record again after an unexpected failure. */
  retryAfterMs?: number;
}

export async function startDelayStage(deps: StageDeps, spec: StageSpec, opts: DelayOptions) {
  const timers = new Set<NodeJS.Timeout>();
  let generation = 0;
  /** Due time of every record held, for the held-records and next-due gauges (read at scrape time). */
  const held = new Map<Consumed<LeadEvent>, number>();
  reportDelayStage(spec.name, () => {
    let next = Infinity;
    for (const due of held.values()) if (due < next) next = due;
    return { held: held.size, nextDueMs: held.size === 0 ? 0 : next };
  });
  const retryAfterMs = opts.retryAfterMs ?? 5000;

  function onward(lead: Consumed<LeadEvent>): Output[] {
    const due = lead.value.delivery?.nextAttemptAt ?? 0;
    if (deps.now() < due) return [{ topic: lead.topic, key: lead.key ?? lead.value.leadId, value: lead.value }]; // re-queue
    try {
      return opts.onDue(lead);
    } catch (err) {
      return withEvents(deadLetter(lead, messageOf(err), { stage: spec.name, topology: deps.topology, now: deps.now() }), deps.topology);
    }
  }

  function hold(lead: Consumed<LeadEvent>, ctx: StageContext<LeadEvent>, delayMs: number): void {
    const mine = generation;
    const stillOwned = () => mine === generation;
    held.set(lead, lead.value.delivery?.nextAttemptAt ?? 0);
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stillOwned()) return; // partition reassigned: its new owner re-reads the record
      ctx.complete(lead, onward(lead), stillOwned).then(() => void held.delete(lead), (err: unknown) => {
        if (err instanceof Abandoned || !stillOwned()) return void held.delete(lead);
        ctx.log.error({ err: messageOf(err), leadId: lead.value.leadId, retryInMs: retryAfterMs }, 'held record could not be settled; trying again');
        hold(lead, ctx, retryAfterMs);
      });
    }, delayMs);
    timers.add(timer);
  }

  const dropHeld = () => {
    generation++;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    held.clear();
  };
  const running = await startLeadStage(deps, spec, {
    maxPending: opts.maxHeld,
    onRebalance: dropHeld,
    async handle(leads, ctx) {
      for (const lead of leads) {
        const due = lead.value.delivery?.nextAttemptAt ?? 0;
        hold(lead, ctx, Math.max(0, Math.min(due - deps.now(), opts.holdHorizonMs)));
      }
      return leads.map(() => ({ deferred: true as const }));
    },
  });
  // What is held is not committed: on stop it is simply dropped, and re-read after the restart.
  return {
    ...running,
    stop: async () => {
      dropHeld();
      reportDelayStage(spec.name, null);
      await running.stop();
    },
  };
}
