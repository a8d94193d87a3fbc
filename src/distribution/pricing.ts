/**
 * What a buyer pays for a lead. Three sources, most specific first:
 *   1. the price the buyer's reply states (when its response mapping extracts one): the buyer's
 *      own word on what it was charged;
 *   2. the buyer's bid in an auction (ping/post): what it offered for this very lead;
 *   3. the configured price: a fixed number, or rules on the lead's fields where the first rule
 *      that matches sets the price and `default` covers the rest (e.g. CA nurses 25, nurses 18,
 *      anything else 6).
 * Amounts are plain numbers in the account's currency; rounding belongs to invoicing.
 */
import { z } from 'zod';
import type { LeadEvent } from '../lead.js';
import { firstListMismatch, LIST_FIELD_KEYS, listConditionsShape } from './filters.js';

const amount = z.number().nonnegative().finite();

const priceRuleSchema = z.strictObject({
  when: z
    .strictObject(listConditionsShape)
    .refine((w) => LIST_FIELD_KEYS.some((k) => w[k] !== undefined), { error: 'a price rule needs at least one condition (use `default` for every lead)' })
    .describe('Every condition must hold; each takes one value or a list, compared ignoring case.'),
  price: amount.describe('Price when this rule is the first that matches.'),
});

export const priceSchema = z
  .union([
    amount.describe('The same price for every lead.'),
    z.strictObject({
      rules: z.array(priceRuleSchema).default([]).describe('Tried in order; the first rule that matches sets the price.'),
      default: amount.describe('Price when no rule matches.'),
    }),
  ], { error: (iss) => (iss.code === 'invalid_union' ? 'expected a price (a number ≥ 0) or { rules: [...], default: <number> }' : undefined) })
  .describe('What the buyer pays per lead: a fixed number, or per-field rules with a default.');

export type Price = z.output<typeof priceSchema>;

export interface PricedLead {
  amount: number;
  /** "fixed", "rule 0", "default", "bid", "reply": where the amount came from, for explanations. */
  source: string;
}

/** The configured price of this lead for a buyer, or null when the buyer has no price. */
export function priceForLead(price: Price | undefined, lead: LeadEvent): PricedLead | null {
  if (price === undefined) return null;
  if (typeof price === 'number') return { amount: price, source: 'fixed' };
  for (const [i, rule] of price.rules.entries()) {
    if (firstListMismatch(rule.when, lead) === null) return { amount: rule.price, source: `rule ${i}` };
  }
  return { amount: price.default, source: 'default' };
}

/**
 * A price as buyers write it in replies: 12.5, "12.50", "$12.50", "1,250.00". Anything else
 * (negative, NaN, a word) is null: a price we cannot read is not a price of 0.
 */
export function parsePrice(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value !== 'string' || value.length > 32) return null;
  const cleaned = value.trim().replace(/^\$\s*/, '').replace(/,(?=\d{3}(\D|$))/g, '');
  if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
  return Number(cleaned);
}

/** The price a delivery settles at: the reply's, else the bid, else the configured price. */
export function settlePrice(parts: { replied?: number | null | undefined; bid?: number | null | undefined; configured?: PricedLead | null | undefined }): PricedLead | null {
  if (parts.replied != null) return { amount: parts.replied, source: 'reply' };
  if (parts.bid != null) return { amount: parts.bid, source: 'bid' };
  return parts.configured ?? null;
}
