/**
 * A buyer as a first-class destination, and buyer groups: the configuration of distribution.
 *
 * A buyer is today's webhook (url, timeoutMs, concurrency, headers, secret, allowInsecure: the
 * fields `primary.buyers` entries always had, so they validate unchanged) plus
 * what lead businesses configure per buyer: open hours in its timezone, caps, filters, a price,
 * how to read its reply, an optional ping for auctions, and whether it needs consent evidence.
 *
 * A group says how a lead is shared among buyers: the method (priority, round-robin, weighted,
 * auction), how many buyers may take it (1: exclusive; N: shared), how long a transiently failing
 * buyer is retried before the lead moves on, and whether a returned lead is sold again.
 *
 * The schema is the documentation: every field has a description, and parseDistribution lists
 * every problem at once as `path: message`.
 */
import { z } from 'zod';
import { capsSchema } from './caps.js';
import { filtersSchema } from './filters.js';
import { priceSchema } from './pricing.js';
import { pingSchema, responseMappingSchema } from './response.js';
import { scheduleSchema } from './schedule.js';
import { isKnownZone } from './zone-time.js';

export const timezoneSchema = z
  .string()
  .refine(isKnownZone, { error: (iss) => `"${String(iss.input)}" is not an IANA time zone (e.g. America/Chicago)` })
  .describe('IANA time zone of the buyer: its schedule and caps are in its local time.');

export const distributionBuyerSchema = z
  .strictObject({
    url: z.url().describe('Webhook the lead is POSTed to.'),
    timeoutMs: z.number().int().positive().default(3000).describe('Per-request timeout.'),
    concurrency: z.number().int().positive().default(64).describe('Requests in flight per sink process.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra headers, e.g. an API key.'),
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]{24,}={0,2}$/, 'must be "whsec_" + base64 of at least 18 random bytes (Standard Webhooks)')
      .optional()
      .describe('Standard Webhooks signing secret shared with the buyer; required unless the URL is loopback.')
      .meta({ secret: true }),
    allowInsecure: z.boolean().default(false).describe('Allow an http:// URL that is not loopback (a network you trust).'),
    timezone: timezoneSchema.optional(),
    schedule: scheduleSchema.optional().describe('When the buyer takes leads; absent: always.'),
    caps: capsSchema.optional(),
    filters: filtersSchema.optional(),
    price: priceSchema.optional(),
    response: responseMappingSchema.optional().describe('How to read the reply; absent: {"accepted": true, "id": ...} as today.'),
    ping: pingSchema.optional(),
    requiresConsentEvidence: z
      .boolean()
      .default(false)
      .describe("The buyer's contract needs consent evidence (consent.at, text, ip) with every lead: leads without it are not sold to it."),
  })
  .superRefine((b, ctx) => {
    // A day cap or 09:00 opening means nothing without a zone; defaulting to UTC would be a silent 5-hour error.
    const needsZone = [b.schedule ? 'schedule' : null, ...(['hour', 'day', 'week', 'month'] as const).map((p) => (b.caps?.[p] !== undefined ? `caps.${p}` : null))].filter((x) => x !== null);
    if (!b.timezone && needsZone.length > 0) ctx.addIssue({ code: 'custom', path: ['timezone'], message: `required with ${needsZone.join(', ')}` });
  })
  .describe('A lead buyer: its webhook and the terms it buys on.');

export type DistributionBuyer = z.output<typeof distributionBuyerSchema>;

export const DISTRIBUTION_METHODS = ['priority', 'round-robin', 'weighted', 'auction'] as const;
export type DistributionMethod = (typeof DISTRIBUTION_METHODS)[number];

const groupMemberSchema = z.union(
  [
    z.string().min(1).transform((name) => ({ name, weight: 1 })),
    z.strictObject({
      name: z.string().min(1),
      weight: z.number().positive().default(1).describe('Share of leads under the weighted method (relative to the other weights).'),
    }),
  ],
  { error: (iss) => (iss.code === 'invalid_union' ? 'expected a buyer name or { name, weight }' : undefined) },
);

export const buyerGroupSchema = z
  .strictObject({
    method: z.enum(DISTRIBUTION_METHODS).default('priority').describe('priority: in listed order; round-robin: take turns; weighted: at random by weight; auction: highest bid first (ties: listed order).'),
    buyers: z.array(groupMemberSchema).min(1).describe('Buyer names (or { name, weight }) in priority order.'),
    maxBuyers: z.number().int().positive().default(1).describe('How many buyers may take one lead: 1 is exclusive, N sells it shared to the first N that accept.'),
    deadlineMs: z.number().int().positive().default(60_000).describe('How long a buyer failing transiently (5xx, 429, timeout) is retried before the lead moves on to the next buyer.'),
    bidWindowMs: z.number().int().positive().default(300).describe('Auction: bids arriving later than this after the pings went out are ignored.'),
    redistributeOnReturn: z.boolean().default(false).describe('When a buyer returns a lead, offer it to the next buyer in the plan.'),
    returnWindowDays: z.number().int().positive().max(365).default(14).describe('How long after a sale its buyer may return the lead (with redistributeOnReturn, the lead is kept that long to sell again).'),
  })
  .superRefine((g, ctx) => {
    const seen = new Map<string, number>();
    for (const [i, b] of g.buyers.entries()) {
      const first = seen.get(b.name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['buyers', i], message: `"${b.name}" is listed twice (also buyers.${first})` });
      else seen.set(b.name, i);
    }
    if (g.maxBuyers > g.buyers.length) ctx.addIssue({ code: 'custom', path: ['maxBuyers'], message: `${g.maxBuyers} but the group has ${g.buyers.length} buyer(s)` });
  })
  .describe('How a lead is shared among buyers.');

export type BuyerGroup = z.output<typeof buyerGroupSchema>;

export const distributionSchema = z
  .strictObject({
    buyers: z.record(z.string().min(1), distributionBuyerSchema).describe('Buyers by name.'),
    groups: z.record(z.string().min(1), buyerGroupSchema).default({}).describe('Buyer groups by name; a routing rule names one.'),
  })
  .superRefine(
    (d, ctx) => {
      // Runs even when other parts failed (every problem at once), so it reads defensively.
      const buyers: Record<string, Partial<DistributionBuyer> | undefined> = isRecord(d.buyers) ? d.buyers : {};
      for (const [name, group] of Object.entries(isRecord(d.groups) ? d.groups : {})) {
        // A routing rule names either; one name for both would make the rule ambiguous.
        if (Object.hasOwn(buyers, name)) ctx.addIssue({ code: 'custom', path: ['groups', name], message: `"${name}" is also a buyer: a rule naming it would be ambiguous` });
        if (!isRecord(group) || !Array.isArray(group.buyers)) continue;
        for (const [i, member] of (group.buyers as unknown[]).entries()) {
          const memberName = typeof member === 'string' ? member : isRecord(member) && typeof member.name === 'string' ? member.name : null;
          if (memberName === null) continue;
          const buyer = buyers[memberName];
          if (!buyer) ctx.addIssue({ code: 'custom', path: ['groups', name, 'buyers', i], message: `unknown buyer "${memberName}"` });
          else if (group.method === 'auction' && !buyer.ping && buyer.price === undefined) {
            ctx.addIssue({ code: 'custom', path: ['groups', name, 'buyers', i], message: `auction: "${memberName}" has neither a ping (to bid) nor a price (a standing bid)` });
          }
        }
      }
    },
    { when: () => true },
  );

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export type DistributionConfig = z.output<typeof distributionSchema>;

export class DistributionConfigError extends Error {
  override name = 'DistributionConfigError';
  constructor(readonly problems: string[], where: string) {
    super(`${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** `buyers.acme.timezone: "America/Chicgo" is not an IANA time zone`, one line per issue. */
export function formatIssues(error: z.ZodError, prefix: readonly (string | number)[] = []): string[] {
  return error.issues.map((i) => `${[...prefix, ...i.path].map(String).join('.') || '(root)'}: ${i.message}`);
}

/** Validates a distribution section, throwing every problem at once. */
export function parseDistribution(raw: unknown, where = 'distribution'): DistributionConfig {
  const parsed = distributionSchema.safeParse(raw);
  if (!parsed.success) throw new DistributionConfigError(formatIssues(parsed.error), where);
  return parsed.data;
}
