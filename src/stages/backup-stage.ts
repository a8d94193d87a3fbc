/**
 * The backup stage: leads.backup → the failed delivery's own destination topic when it is due
 * (a delay stage), where its sink tries it again with the attempt number it carries. The sink's
 * settle() then decides: delivered, another backup record with a longer delay, or leads.dlq with
 * the reason once the retry policy gives up. Sinks stay free of Kafka; this stage calls nobody.
 */
import { destinationKey, destinationTopic, parseDestination } from '../destination.js';
import type { StageSpec } from '../topology.js';
import type { StageDeps } from './context.js';
import { startDelayStage } from './delay-stage.js';

export function startBackupStage(deps: StageDeps, spec: StageSpec) {
  const { env } = deps.config;
  return startDelayStage(deps, spec, {
    holdHorizonMs: env.BACKUP_HOLD_HORIZON_MS,
    maxHeld: env.BACKUP_MAX_HELD,
    onDue(lead) {
      const text = lead.value.delivery?.destination ?? '';
      const destination = parseDestination(text);
      const topic = destination && destinationTopic(destination, deps.topology);
      if (!destination || !topic) throw new Error(`no topic for destination "${text}" in this router (removed from config?)`);
      return [{ topic, key: destinationKey(destination, lead.value), value: { ...lead.value, delivery: { ...lead.value.delivery!, nextAttemptAt: null } } }];
    },
  });
}
