/**
 * What becomes of a lead after one distribution pass of sink-primary (src/sinks/primary/
 * distribution-sink.ts), as records and history events the batch step produces before it commits:
 *
 *   done     every buyer that will get it has it: history only (delivered, skipped, declined...);
 *   retry    a buyer failed transiently within its deadline: leads.backup, carrying the plan and
 *            attempts, due at the next backoff step but never after the deadline (then the sink
 *            gives that buyer up and offers the lead to the next one);
 *   unsold   nobody took it: leads.unsold with every reason (replay it onto leads.primary to
 *            redistribute: the sink plans it afresh);
 *   single   a rule that names one buyer ends as deliveries always did (src/stages/outcomes.ts):
 *            delivered, retried by the policy then leads.dlq, or dead when the buyer says no.
 *
 * Every note comes from a buyer's reply or our own reasons; replies may echo the person, so each
 * detail is scrubbed with the lead's own values, like every other outcome.
 */
import type { HistoryEntry } from '../history/events.js';
import type { Consumed } from '../kafka/stage-contract.js';
import type { DistributionState, LeadEvent } from '../lead.js';
import type { DistributionOutcome } from '../distribution/outcome.js';
import { scrubReason } from '../security/scrub.js';
import { backoffMs } from '../sinks/retry-policy.js';
import { personalValues } from '../sinks/scrub-outcome.js';
import { deadLetter, settleOutcome, type SettleContext, type Settled } from './outcomes.js';

export function settleDistribution(lead: Consumed<LeadEvent>, outcome: DistributionOutcome, ctx: SettleContext): Settled {
  const event = lead.value;
  const delivery = event.delivery;
  if (!delivery) return deadLetter(lead, 'record has no delivery section', ctx);
  const known = personalValues(event);
  const clean = (text: string, max = 300) => scrubReason(text, { known, max });
  // A lead planned again (a return) starts its passes at attempt 0 again: its events must differ.
  const round = outcome.state.round > 0 ? `r${outcome.state.round}` : '';
  const discriminator = (extra?: string) => [round, extra ?? ''].filter(Boolean).join(':');
  const base = { leadId: event.leadId, at: ctx.now, stage: ctx.stage, attempt: delivery.attempt };
  const history: HistoryEntry[] = outcome.notes.map((n) => {
    const d = discriminator(n.discriminator);
    return { ...base, type: n.type, destination: `primary:${n.buyer}`, detail: clean(n.detail), ...(d ? { discriminator: d } : {}) };
  });
  const withState = (status: DistributionState['status']): LeadEvent => ({ ...event, distribution: { ...outcome.state, status } });
  const result = outcome.result;
  switch (result.kind) {
    case 'single': {
      // A dead one is over for this plan: replayed from leads.dlq, it is planned (and sent) again.
      const status = result.outcome.status === 'delivered' ? 'sold' : result.outcome.status === 'dead' ? 'unsold' : 'open';
      const settled = settleOutcome({ ...lead, value: withState(status) }, result.outcome, ctx);
      return { outputs: settled.outputs, history: [...history, ...settled.history] };
    }
    case 'done':
      return { outputs: [], history };
    case 'unsold': {
      const reasons = result.reasons.map((r) => clean(r, 200));
      const d = discriminator();
      return {
        outputs: [
          {
            topic: ctx.topology.topics.unsold,
            key: event.leadId,
            value: withState('unsold'),
            headers: { 'x-unsold-reasons': reasons.join('; ').slice(0, 500), 'x-destination': delivery.destination },
          },
        ],
        history: [...history, { ...base, type: 'unsold', destination: delivery.destination, detail: reasons.join('; '), ...(d ? { discriminator: d } : {}) }],
      };
    }
    case 'retry': {
      const attempt = delivery.attempt + 1;
      // The backoff of the retry policy, but never past the deadline: then the next buyer's turn.
      const nextAttemptAt = Math.min(ctx.now + backoffMs(ctx.policy, attempt), Math.max(result.notAfter, ctx.now));
      const error = clean(result.error);
      const retried: LeadEvent = { ...withState('open'), delivery: { ...delivery, attempt, nextAttemptAt, lastError: error } };
      const d = discriminator();
      return {
        outputs: [{ topic: ctx.topology.topics.backup, key: event.leadId, value: retried, headers: { 'x-destination': delivery.destination } }],
        history: [...history, { ...base, type: 'retried', destination: delivery.destination, attempt, detail: `next attempt at ${new Date(nextAttemptAt).toISOString()}`, ...(d ? { discriminator: d } : {}) }],
      };
    }
  }
}
