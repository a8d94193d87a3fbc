/**
 * What happens to a lead after a delivery attempt, the same for every sink: delivered → an event
 * only; retry → a leads.backup record with the next attempt time (or leads.dlq once the policy
 * gives up); dead → leads.dlq with the reason; fallback → the next provider's topic; defer → the
 * deferred topic. The batch step produces these (acks=all) before it commits the input offset.
 */
import type { RetryPolicy } from '../config.js';
import { destinationTopic, parseDestination } from '../destination.js';
import { eventOutputs, type HistoryEntry } from '../history/events.js';
import type { Consumed, Output } from '../kafka/stage-contract.js';
import type { LeadEvent } from '../lead.js';
import { decideRetry } from '../sinks/retry-policy.js';
import { personalValues, scrubOutcome } from '../sinks/scrub-outcome.js';
import { scrubReason } from '../security/scrub.js';
import type { DeliveryOutcome } from '../sinks/sink.js';
import type { Topology } from '../topology.js';
import { destinationLabel, metrics } from '../metrics.js';
import { settleDistribution } from './distribution-settle.js';

export interface SettleContext {
  stage: string;
  policy: RetryPolicy;
  topology: Pick<Topology, 'topics'>;
  now: number;
}

export interface Settled {
  outputs: Output[];
  history: HistoryEntry[];
}

/** Lead outputs plus their events, as the batch step produces them. */
export function withEvents(settled: Settled, topology: Pick<Topology, 'topics'>): Output[] {
  return [...settled.outputs, ...eventOutputs(topology.topics.events, settled.history)];
}

export function settle(lead: Consumed<LeadEvent>, given: DeliveryOutcome, ctx: SettleContext): Settled {
  // A lead among several buyers has rules of its own (deadlines, next buyer, leads.unsold).
  const settled = given.status === 'distribution' ? settleDistribution(lead, given, ctx) : settleOutcome(lead, given, ctx);
  countOutcomes(settled, lead.value.receivedAt, ctx.now);
  return settled;
}

/** One delivery's outcome without metrics (settle() counts them once). */
export function settleOutcome(lead: Consumed<LeadEvent>, given: DeliveryOutcome, ctx: SettleContext): Settled {
  const event = lead.value;
  // Destinations echo what they were sent: no lead value reaches history, backup, DLQ or logs.
  const outcome = scrubOutcome(given, event);
  const delivery = event.delivery;
  const { topics } = ctx.topology;
  if (!delivery) return deadLetter(lead, 'record has no delivery section', ctx); // a bug upstream, kept for a human
  const base = { leadId: event.leadId, at: ctx.now, stage: ctx.stage, destination: delivery.destination, attempt: delivery.attempt };
  switch (outcome.status) {
    case 'delivered':
      return { outputs: [], history: [{ ...base, type: 'delivered', ...(outcome.detail ? { detail: outcome.detail } : {}) }] };
    case 'dead':
      return deadLetter(lead, outcome.reason, ctx);
    case 'skipped':
      return { outputs: [], history: [{ ...base, type: outcome.as, detail: outcome.reason }] };
    case 'fallback': {
      const next = parseDestination(outcome.next);
      const topic = next && destinationTopic(next, ctx.topology);
      if (!topic) return deadLetter(lead, `fallback to unknown destination "${outcome.next}" after: ${outcome.error}`, ctx);
      const [, ...rest] = delivery.fallbacks;
      const moved: LeadEvent = { ...event, delivery: { ...delivery, destination: outcome.next, fallbacks: rest, attempt: 0, nextAttemptAt: null, lastError: outcome.error } };
      return {
        outputs: [{ topic, key: lead.key ?? event.leadId, value: moved }],
        history: [
          { ...base, type: 'failed', detail: outcome.error },
          { ...base, type: 'fallback', detail: `to ${outcome.next}` },
        ],
      };
    }
    case 'defer':
      return {
        outputs: [{ topic: topics.smsDeferred, key: lead.key ?? event.leadId, value: { ...event, delivery: { ...delivery, nextAttemptAt: outcome.until } } }],
        history: [{ ...base, type: 'deferred', detail: `${outcome.reason}; until ${new Date(outcome.until).toISOString()}`, discriminator: String(outcome.until) }],
      };
    case 'distribution':
      return settleDistribution(lead, outcome, ctx);
    case 'retry': {
      const decision = decideRetry(ctx.policy, delivery.attempt, delivery.firstAttemptAt, ctx.now);
      if (!decision.retry) return deadLetter(lead, `${decision.reason}; last error: ${outcome.error}`, ctx);
      const retried: LeadEvent = { ...event, delivery: { ...delivery, attempt: decision.attempt, nextAttemptAt: decision.nextAttemptAt, lastError: outcome.error } };
      return {
        outputs: [{ topic: topics.backup, key: event.leadId, value: retried, headers: { 'x-destination': delivery.destination } }],
        history: [
          { ...base, type: 'failed', detail: outcome.error },
          { ...base, type: 'retried', attempt: decision.attempt, detail: `next attempt at ${new Date(decision.nextAttemptAt).toISOString()}` },
        ],
      };
    }
  }
}

/** Metrics from what was decided (a retry the policy gave up on counts as dead, not retry). */
export function countOutcomes(settled: Settled, receivedAt: number, now: number): void {
  for (const h of settled.history) {
    if (h.type === 'failed') continue; // the attempt's outcome is the event that follows it
    const destination = destinationLabel(h.destination);
    metrics.deliveries.inc({ destination, outcome: h.type === 'retried' ? 'retry' : h.type });
    if (h.type === 'delivered') metrics.deliveryLatency.observe({ destination }, Math.max(0, now - receivedAt) / 1000);
  }
}

/** leads.dlq with the reason and where the lead was read from, and a "dead" event. */
export function deadLetter(lead: Consumed<LeadEvent>, given: string, ctx: Pick<SettleContext, 'stage' | 'topology' | 'now'>): Settled {
  const event = lead.value;
  // Also reached from stage errors (an exception's message): scrubbed here too.
  const reason = scrubReason(given, { known: event && typeof event === 'object' ? personalValues(event) : [], max: 2000 });
  const deadEvent: LeadEvent = {
    ...event,
    deadLetter: { reason: reason.slice(0, 2000), stage: ctx.stage, at: ctx.now, topic: lead.topic, partition: lead.partition, offset: lead.offset },
  };
  const destination = event.delivery?.destination;
  return {
    outputs: [
      {
        topic: ctx.topology.topics.dlq,
        key: event.leadId,
        value: deadEvent,
        headers: { 'x-dead-reason': reason.slice(0, 500), 'x-dead-stage': ctx.stage, 'x-original-topic': lead.topic, ...(destination ? { 'x-destination': destination } : {}) },
      },
    ],
    history: [{ leadId: event.leadId, type: 'dead', at: ctx.now, stage: ctx.stage, ...(event.delivery ? { destination: event.delivery.destination, attempt: event.delivery.attempt } : {}), detail: reason }],
  };
}
