/**
 * The routing decision, a pure function: an enriched lead in, the deliveries it needs (or a
 * rejection with the reason) out. Rules come from config (routing.rules, first match wins).
 */
import type { RouterFile, RoutingRule } from '../../config.js';
import { marketOf, type Delivery, type LeadEvent, type Market } from '../../lead.js';

export interface PlannedDelivery {
  kind: 'primary' | 'sms' | 'search';
  /** The provider / buyer / index id: which topic and which destination config. */
  target: string;
  destination: string;
  /** Message key: leadId, or the phone for SMS so one person's texts share a partition (dedup). */
  key: string;
  fallbacks: string[];
}

export type RouteDecision =
  | { kind: 'routed'; rule: string; deliveries: PlannedDelivery[]; skipped: string[] }
  | { kind: 'rejected'; reason: string };

export type RoutingConfig = Pick<RouterFile, 'routing' | 'sms' | 'search'>;

export function decideRoute(lead: LeadEvent, config: RoutingConfig): RouteDecision {
  const loop = loopGuard(lead, config.routing);
  if (loop) return { kind: 'rejected', reason: loop };
  const market = marketOf(lead);
  const rule = config.routing.rules.find((r) => matches(r, lead, market));
  if (!rule) return { kind: 'rejected', reason: `no routing rule matches (market ${market}, source ${lead.source})` };

  const deliveries: PlannedDelivery[] = [];
  const skipped: string[] = [];
  if (rule.then.primary) {
    deliveries.push({ kind: 'primary', target: rule.then.primary, destination: `primary:${rule.then.primary}`, key: lead.leadId, fallbacks: [] });
  }
  if (rule.then.sms.length > 0) {
    const phone = lead.enrichment?.phone;
    // Providers that may text this market, in the rule's priority order.
    const providers = rule.then.sms.filter((p) => config.sms.providers[p]?.markets.includes(market));
    if (!lead.consent.sms) skipped.push('sms: no SMS consent');
    else if (!phone?.valid || !phone.e164) skipped.push(`sms: phone not textable (${phone?.reason ?? 'not enriched'})`);
    else if (providers.length === 0) skipped.push(`sms: no provider serves market ${market}`);
    else {
      const [first, ...rest] = providers as [string, ...string[]];
      deliveries.push({ kind: 'sms', target: first, destination: `sms:${first}`, key: phone.e164, fallbacks: rest.map((p) => `sms:${p}`) });
    }
  }
  if (rule.then.search) {
    deliveries.push({ kind: 'search', target: config.search.index, destination: `search:${config.search.index}`, key: lead.leadId, fallbacks: [] });
  }
  return { kind: 'routed', rule: rule.name, deliveries, skipped };
}

/** A lead from the router itself or one of its destinations, or one that keeps coming back, would loop. */
export function loopGuard(lead: LeadEvent, routing: RouterFile['routing']): string | null {
  const self = new Set(routing.selfSources.map((s) => s.toLowerCase()));
  if (self.has(lead.source.toLowerCase())) return `loop guard: source "${lead.source}" is the router or one of its destinations`;
  if (self.has(lead.vendor.toLowerCase())) return `loop guard: vendor "${lead.vendor}" is the router or one of its destinations`;
  if (lead.hops.length > routing.maxHops) return `loop guard: ${lead.hops.length} hops exceeds the limit of ${routing.maxHops}`;
  if (lead.hops.includes('route')) return 'loop guard: lead was already routed once';
  return null;
}

function matches(rule: RoutingRule, lead: LeadEvent, market: Market): boolean {
  const w = rule.when;
  const oneOf = (want: string | string[] | undefined, actual: string): boolean =>
    want === undefined || (Array.isArray(want) ? want : [want]).some((v) => v.toLowerCase() === actual.toLowerCase());
  return (
    oneOf(w.market, market) &&
    oneOf(w.source, lead.source) &&
    oneOf(w.vendor, lead.vendor) &&
    oneOf(w.country, lead.country) &&
    (w.smsConsent === undefined || w.smsConsent === lead.consent.sms)
  );
}

export function deliveryFor(planned: PlannedDelivery, rule: string, now: number): Delivery {
  return { destination: planned.destination, rule, attempt: 0, firstAttemptAt: now, nextAttemptAt: null, lastError: null, fallbacks: planned.fallbacks };
}
