/**
 * What happens to a lead after a delivery attempt, the same for every sink and for the backup
 * stage: delivered → history only; retry → a leads.backup record with the next attempt time
 * (or leads.dlq once the policy gives up); dead → leads.dlq with the reason. The runner
 * produces these outputs (acks=all) before it commits the input offset.
 */
import type { RetryPolicy } from '../config.js';
import type { LeadEvent } from '../lead.js';
import type { HistoryEvent } from '../history/history.js';
import type { ConsumedLead, Output } from '../kafka/stage-runner.js';
import { decideRetry } from './retry-policy.js';
import type { StageDeps } from '../stages/context.js';
import type { DeliveryOutcome } from './sink.js';

export interface SettleContext {
  stage: string;
  policy: RetryPolicy;
  backupTopic: string;
  dlqTopic: string;
  /** Where deferred (quiet-hour) deliveries wait. */
  deferredTopic?: string;
  /** The topic a destination is consumed from ("sms:eurosms" → leads.sms.eurosms), for fallback. */
  topicFor?: (destination: string) => string | undefined;
  now: number;
}

/** The settle context of a stage, from the process-wide deps. */
export function settleContext(deps: StageDeps, stage: string): SettleContext {
  const { topics } = deps.topology;
  return {
    stage,
    policy: deps.config.router.retry,
    backupTopic: topics.backup,
    dlqTopic: topics.dlq,
    deferredTopic: topics.smsDeferred,
    topicFor: (destination) => (destination.startsWith('sms:') ? topics.sms[destination.slice(4)] : undefined),
    now: deps.now(),
  };
}

export interface Settled {
  outputs: Output[];
  history: HistoryEvent[];
}

export function settle(lead: ConsumedLead, outcome: DeliveryOutcome, ctx: SettleContext): Settled {
  const event = lead.event;
  const delivery = event.delivery;
  if (!delivery) {
    // Only routed leads reach a sink; anything else is a bug upstream, kept for a human.
    return dead(lead, 'record has no delivery section', ctx);
  }
  const base = { leadId: event.leadId, at: ctx.now, stage: ctx.stage, destination: delivery.destination, attempt: delivery.attempt };
  if (outcome.status === 'delivered') {
    return { outputs: [], history: [{ ...base, type: 'delivered', ...(outcome.detail ? { detail: outcome.detail } : {}) }] };
  }
  if (outcome.status === 'dead') return dead(lead, outcome.reason, ctx);
  if (outcome.status === 'skipped') {
    return { outputs: [], history: [{ ...base, type: outcome.as, detail: outcome.reason }] };
  }
  if (outcome.status === 'fallback') {
    const topic = ctx.topicFor?.(outcome.next);
    if (!topic) return dead(lead, `fallback to unknown destination "${outcome.next}" after: ${outcome.error}`, ctx);
    const [, ...rest] = delivery.fallbacks;
    const next: LeadEvent = {
      ...event,
      delivery: { ...delivery, destination: outcome.next, fallbacks: rest, attempt: 0, nextAttemptAt: null, lastError: outcome.error },
    };
    return {
      outputs: [{ topic, key: lead.key ?? event.leadId, event: next }],
      history: [{ ...base, type: 'failed', detail: outcome.error }, { ...base, type: 'fallback', detail: `to ${outcome.next}` }],
    };
  }
  if (outcome.status === 'defer') {
    if (!ctx.deferredTopic) return dead(lead, `cannot defer (${outcome.reason}): no deferred topic in this stage`, ctx);
    return {
      outputs: [{ topic: ctx.deferredTopic, key: lead.key ?? event.leadId, event: { ...event, delivery: { ...delivery, nextAttemptAt: outcome.until } } }],
      history: [{ ...base, type: 'deferred', detail: `${outcome.reason}; until ${new Date(outcome.until).toISOString()}` }],
    };
  }

  const decision = decideRetry(ctx.policy, delivery.attempt, delivery.firstAttemptAt, ctx.now);
  if (!decision.retry) return dead(lead, `${decision.reason}; last error: ${outcome.error}`, ctx);
  const retried: LeadEvent = {
    ...event,
    delivery: { ...delivery, attempt: decision.attempt, nextAttemptAt: decision.nextAttemptAt, lastError: outcome.error },
  };
  return {
    outputs: [{ topic: ctx.backupTopic, key: event.leadId, event: retried, headers: { 'x-destination': delivery.destination } }],
    history: [{ ...base, type: 'failed', detail: outcome.error }, { ...base, type: 'retried', attempt: decision.attempt, detail: `next attempt at ${new Date(decision.nextAttemptAt).toISOString()}` }],
  };
}

function dead(lead: ConsumedLead, reason: string, ctx: SettleContext): Settled {
  const event = lead.event;
  const deadEvent: LeadEvent = {
    ...event,
    deadLetter: { reason, stage: ctx.stage, at: ctx.now, topic: lead.topic, partition: lead.partition, offset: lead.offset },
  };
  return {
    outputs: [
      {
        topic: ctx.dlqTopic,
        key: event.leadId,
        event: deadEvent,
        headers: { 'x-dead-reason': reason.slice(0, 1000), 'x-dead-stage': ctx.stage, 'x-original-topic': lead.topic },
      },
    ],
    history: [
      {
        leadId: event.leadId,
        type: 'dead',
        at: ctx.now,
        stage: ctx.stage,
        ...(event.delivery ? { destination: event.delivery.destination, attempt: event.delivery.attempt } : {}),
        detail: reason,
      },
    ],
  };
}
