/**
 * The quiet-hours release: a text held on leads.sms.deferred goes back onto its provider's topic
 * when its window opens (a delay stage), where the SMS sink checks everything again. A text for
 * a provider no longer in config is dead-lettered with the reason, never held forever.
 */
import { destinationKey, parseDestination } from '../destination.js';
import { eventOutputs } from '../history/events.js';
import type { StageSpec } from '../topology.js';
import type { StageDeps } from './context.js';
import { startDelayStage } from './delay-stage.js';

export function startReleaseStage(deps: StageDeps, spec: StageSpec) {
  const { env } = deps.config;
  return startDelayStage(deps, spec, {
    // Longer than the backup's: a window opens hours later, and each re-queue is a produce and a
    // fetch per held text (20,000 held re-queued every 30 s: 667 a second, 8× the lead rate of a
    // 5,000/min evening). A crash re-reads at most this much more of the deferred topic.
    holdHorizonMs: env.QUIET_HOURS_HOLD_HORIZON_MS,
    maxHeld: env.BACKUP_MAX_HELD,
    onDue(lead) {
      const delivery = lead.value.delivery;
      const destination = delivery ? parseDestination(delivery.destination) : null;
      const topic = destination?.kind === 'sms' ? deps.topology.topics.sms[destination.name] : undefined;
      if (!delivery || !destination || !topic) throw new Error(`deferred text for unknown SMS provider "${delivery?.destination ?? '(none)'}"`);
      return [
        { topic, key: destinationKey(destination, lead.value), value: { ...lead.value, delivery: { ...delivery, nextAttemptAt: null } } },
        ...eventOutputs(deps.topology.topics.events, [
          {
            leadId: lead.value.leadId,
            type: 'released',
            at: deps.now(),
            stage: spec.name,
            destination: delivery.destination,
            attempt: delivery.attempt,
            // Which hold this ends: a text can be held more than once (quiet hours, then a wait
            // for a call in flight elsewhere), and each release is its own event.
            ...(delivery.nextAttemptAt !== null ? { detail: `held until ${new Date(delivery.nextAttemptAt).toISOString()}` } : {}),
            discriminator: String(delivery.nextAttemptAt),
          },
        ]),
      ];
    },
  });
}
