/**
 * The backup stage: leads.backup → the original destination again, when each record is due
 * (a delay stage, see src/stages/delay-stage.ts). The outcome of a redelivery goes through the
 * same settle() as a first delivery: delivered, another backup record with a longer delay, or
 * leads.dlq with the reason once the retry policy gives up.
 */
import type { Sink } from '../sink.js';
import type { StageSpec } from '../../topology.js';
import type { StageDeps } from '../../stages/context.js';
import { startDelayStage } from '../../stages/delay-stage.js';
import { settle, settleContext } from '../outcomes.js';

export interface BackupOptions {
  /** Sink for a destination ("primary:buyer-us", "sms:twilio", "search:leads"), or null if none. */
  sinkFor(destination: string): Sink | null;
  holdHorizonMs: number;
  maxHeld: number;
}

export function startBackupStage(deps: StageDeps, spec: StageSpec, opts: BackupOptions) {
  return startDelayStage(deps, spec, {
    holdHorizonMs: opts.holdHorizonMs,
    maxHeld: opts.maxHeld,
    async onDue(lead) {
      const destination = lead.event.delivery?.destination ?? '';
      const sink = opts.sinkFor(destination);
      const outcome = sink
        ? ((await sink.deliver([lead.event]))[0] ?? { status: 'retry' as const, error: 'sink returned no outcome' })
        : ({ status: 'dead', reason: `no sink for destination "${destination}" in this process` } as const);
      const settled = settle(lead, outcome, settleContext(deps, spec.name));
      for (const h of settled.history) deps.history.record(h);
      return settled.outputs;
    },
  });
}
