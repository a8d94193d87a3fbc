/**
 * The `routing:` section of config/router.yaml: loop guards and the routing rules.
 *
 * A rule is `{ name, priority?, when?, then }`. Rules are tried highest `priority` first (default
 * 0; ties keep file order) and the first rule whose `when` matches decides the lead's deliveries.
 * Every condition in `when` is optional and they are AND-ed; each takes one value or a list (any
 * of them matches), compared case-insensitively. `not: { ... }` excludes leads that match every
 * condition inside it. Unknown condition names are rejected, so a typo cannot silently widen a
 * rule. See the comments in config/router.yaml for the format as ops see it.
 *
 * This module only depends on zod: config.ts composes `routingSchema` into the router file and
 * calls `checkRoutingReferences` for the cross-references to buyers and SMS providers.
 */
import { z } from 'zod';

export const MARKETS = ['US', 'UK'] as const;
export const EMAIL_STATUSES = ['valid', 'invalid', 'risky', 'unknown'] as const;

/** Condition names, in the order explanations list them. */
export const CONDITION_KEYS = ['market', 'source', 'vendor', 'country', 'state', 'jobCategory', 'jobTitle', 'emailStatus', 'phoneType', 'smsConsent'] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

/** One text value or a non-empty list of them; `allowed` restricts the values (any case). */
function oneOrMany(what: string, allowed?: readonly string[]) {
  const lower = allowed?.map((a) => a.toLowerCase());
  const item = lower
    ? z.string().refine((v) => lower.includes(v.trim().toLowerCase()), { error: (iss) => `"${String(iss.input)}" is not one of ${allowed!.join(', ')}` })
    : z.string().refine((v) => v.trim() !== '', { error: 'must not be empty' });
  const hint = allowed ? `one of ${allowed.join(', ')}` : what;
  return z.union([item, z.array(item).min(1, { error: 'an empty list never matches: remove the condition instead' })], {
    error: (iss) => (iss.code === 'invalid_union' ? `expected ${hint}, or a list of them` : undefined),
  });
}

const conditionShape = {
  market: oneOrMany('a market', MARKETS).optional().describe('Market of the lead (from its country): US or UK.'),
  source: oneOrMany('a source').optional().describe('The lead\'s source as sent by the vendor.'),
  vendor: oneOrMany('a vendor').optional().describe('The vendor that sent the lead.'),
  country: oneOrMany('a country code').optional().describe('ISO country of the lead: US or GB ("UK" means GB).'),
  state: oneOrMany('a state code').optional().describe('enrichment.timezone.state, e.g. CA.'),
  jobCategory: oneOrMany('a job category').optional().describe('enrichment.jobTitle.category, e.g. Healthcare.'),
  jobTitle: oneOrMany('a job title').optional().describe('enrichment.jobTitle.canonical, e.g. Registered Nurse.'),
  emailStatus: oneOrMany('an email status', EMAIL_STATUSES).optional().describe('enrichment.email.status.'),
  phoneType: oneOrMany('a phone type').optional().describe('enrichment.phone.type, e.g. MOBILE, FIXED_LINE_OR_MOBILE.'),
  smsConsent: z.boolean({ error: 'expected true or false' }).optional().describe('Whether the lead opted in to text messages.'),
};

function unknownKeys(allowed: readonly string[]) {
  return (iss: { code?: string; keys?: string[] }) => {
    if (iss.code !== 'unrecognized_keys' || !iss.keys) return undefined;
    return iss.keys
      .map((k) => {
        const near = allowed.find((a) => a.toLowerCase() === k.toLowerCase().replace(/[_-]/g, ''));
        return `unknown condition "${k}"${near ? ` (did you mean "${near}"?)` : ''}`;
      })
      .join('; ') + `; conditions are: ${allowed.join(', ')}`;
  };
}

const negatedConditionsSchema = z
  .strictObject(conditionShape, { error: unknownKeys(CONDITION_KEYS) })
  .refine((c) => Object.values(c).some((v) => v !== undefined), { error: '"not" needs at least one condition' })
  .describe('Leads matching every condition in here are excluded.');

export const conditionsSchema = z.strictObject({ ...conditionShape, not: negatedConditionsSchema.optional() }, { error: unknownKeys([...CONDITION_KEYS, 'not']) });

export const ruleSchema = z.strictObject({
  name: z.string().min(1),
  priority: z.number().optional().describe('Higher is tried first; default 0; ties keep file order.'),
  when: conditionsSchema.default({}).describe('All conditions must hold; none means every lead.'),
  then: z.strictObject({
    primary: z.string().nullable().default(null).describe('A buyer from primary.buyers, or a buyer group from primary.groups.'),
    sms: z.array(z.string()).default([]).describe('SMS providers in priority order.'),
    search: z.boolean().default(true),
  }),
});

export const routingSchema = z
  .strictObject({
    selfSources: z.array(z.string()).default(['lead-router']).describe('Sources / vendors that are the router or its destinations: rejected as loops.'),
    maxHops: z.number().int().positive().default(12),
    rules: z.array(ruleSchema).min(1),
  })
  .superRefine((routing, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, rule] of routing.rules.entries()) {
      const first = seen.get(rule.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${rule.name}" (also rules.${first})` });
      else seen.set(rule.name, i);
    }
  });

export type RoutingSection = z.infer<typeof routingSchema>;
export type RoutingRule = z.infer<typeof ruleSchema>;
export type RuleConditions = z.infer<typeof conditionsSchema>;

export interface RoutingReferenceIssue {
  /** From the router file's root, e.g. ["routing", "rules", 0, "then", "primary"]. */
  path: (string | number)[];
  message: string;
}

/**
 * A rule may only name buyers (or buyer groups) and SMS providers that exist. Paths start at the
 * file's root.
 */
export function checkRoutingReferences(
  routing: { rules: readonly { then: { primary: string | null; sms: readonly string[] } }[] },
  buyerIds: Iterable<string>,
  providerIds: Iterable<string>,
  groupIds: Iterable<string> = [],
): RoutingReferenceIssue[] {
  const buyers = new Set(buyerIds);
  const groups = new Set(groupIds);
  const providers = new Set(providerIds);
  const issues: RoutingReferenceIssue[] = [];
  for (const [i, rule] of routing.rules.entries()) {
    if (rule.then.primary && !buyers.has(rule.then.primary) && !groups.has(rule.then.primary)) {
      const hint = groups.size > 0 ? ' (neither a buyer in primary.buyers nor a group in primary.groups)' : '';
      issues.push({ path: ['routing', 'rules', i, 'then', 'primary'], message: `unknown buyer "${rule.then.primary}"${hint}` });
    }
    for (const [j, p] of rule.then.sms.entries()) {
      if (!providers.has(p)) issues.push({ path: ['routing', 'rules', i, 'then', 'sms', j], message: `unknown SMS provider "${p}"` });
    }
  }
  return issues;
}
