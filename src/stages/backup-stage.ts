/**
 * The backup stage: leads.backup → the failed delivery's retry topic when it is due (a delay
 * stage), where its sink's retry stage tries it again with the attempt number it carries. The sink's
 * settle() then decides: delivered, another backup record with a longer delay, or leads.dlq with
 * the reason once the retry policy gives up. Sinks stay free of Kafka; this stage calls nobody.
 */
import { destinationKey, parseDestination, retryTopic } from '../destination.js';
import type { Output } from '../kafka/stage-contract.js';
import type { LeadEvent } from '../lead.js';
import type { StageSpec, Topology } from '../topology.js';
import type { StageDeps } from './context.js';
import { startDelayStage } from './delay-stage.js';

export function startBackupStage(deps: StageDeps, spec: StageSpec) {
  const { env } = deps.config;
  return startDelayStage(deps, spec, {
    holdHorizonMs: env.BACKUP_HOLD_HORIZON_MS,
    maxHeld: env.BACKUP_MAX_HELD,
    onDue: (lead) => [retryRecord(lead.value, deps.topology)],
  });
}

/** A failed delivery due again, as it goes onto its destination's retry topic. */
export function retryRecord(lead: LeadEvent, topology: Pick<Topology, 'topics'>): Output {
  const text = lead.delivery?.destination ?? '';
  const destination = parseDestination(text);
  const topic = destination && retryTopic(destination, topology);
  if (!destination || !topic) throw new Error(`no topic for destination "${text}" in this router (removed from config?)`);
  return { topic, key: destinationKey(destination, lead), value: { ...lead, delivery: { ...lead.delivery!, nextAttemptAt: null } } };
}
