/**
 * The routing decision, a pure function: an enriched lead in, the deliveries it needs (or a
 * rejection with the reason) out. Rules come from config (routing.rules, see rules-schema.ts):
 * highest priority first, ties in file order, first match wins. The rule alone decides the
 * destinations; the only checks outside the rules are the loop guards and what makes SMS
 * physically possible (consent, a valid E.164 number, a provider that serves the lead's market).
 */
import type { RouterFile } from '../../config.js';
import { marketOf, type Delivery, type LeadEvent, type Market } from '../../lead.js';
import { CONDITION_KEYS, type ConditionKey, type RoutingSection } from './rules-schema.js';

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

/** `primary` (buyers and groups) is there for explanations (`route --explain`), not for routing. */
export type RoutingConfig = Pick<RouterFile, 'sms' | 'search'> & { routing: RoutingSection; primary?: RouterFile['primary'] };

/** What a rule may look at, as the matcher sees it (schema output, or rules built in code). */
type ConditionValue = string | readonly string[] | boolean | undefined;
type Conditions = { readonly [K in ConditionKey]?: ConditionValue };
interface RuleLike {
  name: string;
  priority?: number | undefined;
  when: Conditions & { not?: Conditions | undefined };
  then: { primary: string | null; sms: readonly string[]; search: boolean };
}

export function decideRoute(lead: LeadEvent, config: RoutingConfig): RouteDecision {
  const loop = loopGuard(lead, config.routing);
  if (loop) return { kind: 'rejected', reason: loop };
  const market = marketOf(lead);
  const facts = factsOf(lead, market);
  const rule = compiledRules(config.routing.rules).find((r) => r.matches(facts))?.rule;
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

/** Lower-cased self sources, built once per rules object (rules are swapped whole on reload). */
const selfSourceSets = new WeakMap<Pick<RouterFile['routing'], 'selfSources'>, Set<string>>();
function selfSourcesOf(routing: Pick<RouterFile['routing'], 'selfSources'>): Set<string> {
  let set = selfSourceSets.get(routing);
  if (!set) {
    set = new Set(routing.selfSources.map((s) => s.toLowerCase()));
    selfSourceSets.set(routing, set);
  }
  return set;
}

/** A lead from the router itself or one of its destinations, or one that keeps coming back, would loop. */
export function loopGuard(lead: LeadEvent, routing: Pick<RoutingSection, 'selfSources' | 'maxHops'>): string | null {
  const self = selfSourcesOf(routing);
  if (self.has(lead.source.toLowerCase())) return `loop guard: source "${lead.source}" is the router or one of its destinations`;
  if (self.has(lead.vendor.toLowerCase())) return `loop guard: vendor "${lead.vendor}" is the router or one of its destinations`;
  if (lead.hops.length > routing.maxHops) return `loop guard: ${lead.hops.length} hops exceeds the limit of ${routing.maxHops}`;
  if (lead.hops.includes('route')) return 'loop guard: lead was already routed once';
  return null;
}

export interface RuleExplanation {
  rule: string;
  priority: number;
  matched: boolean;
  /** Conditions that did not hold, e.g. `state: wants CA|NY, lead has TX`. Empty when matched. */
  failed: string[];
}

/**
 * Why a lead goes where it goes: the loop guard verdict, then every rule in evaluation order up
 * to and including the one that matched (all of them when none did).
 */
export function explainRoute(lead: LeadEvent, config: RoutingConfig): { loopGuard: string | null; rules: RuleExplanation[] } {
  const facts = factsOf(lead, marketOf(lead));
  const rules: RuleExplanation[] = [];
  for (const c of compiledRules(config.routing.rules)) {
    const failed = c.explain(facts);
    rules.push({ rule: c.rule.name, priority: c.priority, matched: failed.length === 0, failed });
    if (failed.length === 0) break;
  }
  return { loopGuard: loopGuard(lead, config.routing), rules };
}

export function deliveryFor(planned: PlannedDelivery, rule: string, now: number): Delivery {
  return { destination: planned.destination, rule, attempt: 0, firstAttemptAt: now, nextAttemptAt: null, lastError: null, fallbacks: planned.fallbacks };
}

// ---- matching -------------------------------------------------------------------------------

/** The lead's values the conditions compare against: trimmed, lower-cased, null when unknown. */
type Facts = Record<Exclude<ConditionKey, 'smsConsent'>, string | null> & { smsConsent: boolean };

function norm(value: string | null | undefined): string | null {
  const v = value?.trim().toLowerCase();
  return v ? v : null;
}

/** Ingest stores "UK" as "GB"; rules may say either. */
const normCountry = (value: string | null | undefined): string | null => {
  const v = norm(value);
  return v === 'uk' ? 'gb' : v;
};

function factsOf(lead: LeadEvent, market: Market): Facts {
  const e = lead.enrichment;
  return {
    market: norm(market),
    source: norm(lead.source),
    vendor: norm(lead.vendor),
    country: normCountry(lead.country),
    state: norm(e?.timezone.state),
    jobCategory: norm(e?.jobTitle.category),
    jobTitle: norm(e?.jobTitle.canonical),
    emailStatus: norm(e?.email.status),
    phoneType: norm(e?.phone.type),
    smsConsent: lead.consent.sms === true,
  };
}

/** One condition: `null` when it holds, else what failed. */
type Check = (facts: Facts) => string | null;

function compileConditions(when: Conditions): Check[] {
  const checks: Check[] = [];
  for (const key of CONDITION_KEYS) {
    const want = when[key];
    if (want === undefined) continue;
    if (key === 'smsConsent') {
      checks.push((f) => (f.smsConsent === want ? null : `smsConsent: wants ${String(want)}, lead has ${f.smsConsent}`));
      continue;
    }
    if (typeof want === 'boolean') throw new Error(`routing condition ${key} must be text, not a boolean`);
    const list = (typeof want === 'string' ? [want] : want).map((v) => (key === 'country' ? normCountry(v) : norm(v)));
    const set = new Set(list.filter((v): v is string => v !== null));
    const shown = (typeof want === 'string' ? [want] : want).join('|');
    checks.push((f) => {
      const actual = f[key];
      if (actual !== null && set.has(actual)) return null;
      return `${key}: wants ${shown}, lead has ${actual === null ? 'none' : actual}`;
    });
  }
  return checks;
}

interface CompiledRule {
  rule: RuleLike;
  priority: number;
  matches(facts: Facts): boolean;
  explain(facts: Facts): string[];
}

function compileRule(rule: RuleLike): CompiledRule {
  const { not, ...when } = rule.when;
  const checks = compileConditions(when);
  const excluded = not ? compileConditions(not) : null;
  const isExcluded = (f: Facts) => excluded !== null && excluded.every((c) => c(f) === null);
  return {
    rule,
    priority: rule.priority ?? 0,
    matches: (f) => checks.every((c) => c(f) === null) && !isExcluded(f),
    explain: (f) => {
      const failed = checks.map((c) => c(f)).filter((m): m is string => m !== null);
      if (isExcluded(f)) failed.push(`not: lead matches ${JSON.stringify(not)}`);
      return failed;
    },
  };
}

/** Compiled once per rules array (config is frozen; a reload brings a new array). */
const compiledCache = new WeakMap<readonly RuleLike[], CompiledRule[]>();

function compiledRules(rules: readonly RuleLike[]): CompiledRule[] {
  let compiled = compiledCache.get(rules);
  if (!compiled) {
    // Array.prototype.sort is stable: equal priorities keep file order.
    compiled = rules.map(compileRule).sort((a, b) => b.priority - a.priority);
    compiledCache.set(rules, compiled);
  }
  return compiled;
}
