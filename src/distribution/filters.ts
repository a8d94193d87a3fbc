/**
 * Buyer filters: which leads a buyer buys at all, on the lead's enriched fields. Lists are
 * compared ignoring case and surrounding spaces, like the routing rules; a lead that lacks the
 * field (not enriched, ZIP unknown...) fails a filter on it, because a buyer who asked for
 * California leads did not ask for leads that may be from anywhere.
 *
 * checkFilters answers the first failing filter in a fixed order, readable for ops and for
 * `lead-router route --explain`: `filter state: TX not in [CA, NV]`.
 */
import { z } from 'zod';
import type { Consent, EmailStatus, LeadEvent } from '../lead.js';

export const EMAIL_STATUSES = ['valid', 'invalid', 'risky', 'unknown'] as const satisfies readonly EmailStatus[];

/** One value or a non-empty list of them, normalised to a list. */
function valueList(what: string, allowed?: readonly string[]) {
  const lower = allowed?.map((a) => a.toLowerCase());
  const item = lower
    ? z.string().refine((v) => lower.includes(v.trim().toLowerCase()), { error: (iss) => `"${String(iss.input)}" is not one of ${allowed!.join(', ')}` })
    : z.string().refine((v) => v.trim() !== '', { error: 'must not be empty' });
  // A single value is read as a list of one, so an error points at the item (states.1).
  return z
    .preprocess(
      (v) => (typeof v === 'string' ? [v] : v),
      z.array(item, { error: `expected ${allowed ? `one of ${allowed.join(', ')}` : what}, or a list of them` }).min(1, { error: 'an empty list matches no lead: remove the filter instead' }),
    )
    .optional();
}

/** The list filters: the key in config, the name in reasons, and the lead's value. */
export const LIST_FIELDS = {
  states: { label: 'state', of: (l: LeadEvent) => l.enrichment?.timezone.state ?? null },
  jobCategories: { label: 'jobCategory', of: (l: LeadEvent) => l.enrichment?.jobTitle.category ?? null },
  jobTitles: { label: 'jobTitle', of: (l: LeadEvent) => l.enrichment?.jobTitle.canonical ?? null },
  emailStatus: { label: 'emailStatus', of: (l: LeadEvent) => l.enrichment?.email.status ?? null },
  phoneType: { label: 'phoneType', of: (l: LeadEvent) => l.enrichment?.phone.type ?? null },
  sources: { label: 'source', of: (l: LeadEvent) => l.source },
  vendors: { label: 'vendor', of: (l: LeadEvent) => l.vendor },
} as const;
export type ListField = keyof typeof LIST_FIELDS;
export const LIST_FIELD_KEYS = Object.keys(LIST_FIELDS) as ListField[];

/** The list conditions shared by filters and price rules. */
export const listConditionsShape = {
  states: valueList('a state code').describe('enrichment.timezone.state, e.g. CA (territories: PR, VI, GU, AS, MP).'),
  jobCategories: valueList('a job category').describe('enrichment.jobTitle.category, e.g. Healthcare.'),
  jobTitles: valueList('a canonical job title').describe('enrichment.jobTitle.canonical, e.g. Registered Nurse.'),
  emailStatus: valueList('an email status', EMAIL_STATUSES).describe('enrichment.email.status: valid, invalid, risky, unknown.'),
  phoneType: valueList('a phone type').describe('enrichment.phone.type: MOBILE, FIXED_LINE, FIXED_LINE_OR_MOBILE, VOIP...'),
  sources: valueList('a source').describe("The lead's source as sent by the vendor."),
  vendors: valueList('a vendor').describe('The vendor that sent the lead.'),
};

export type ListConditions = { readonly [K in ListField]?: readonly string[] | undefined };

export const filtersSchema = z
  .strictObject({
    ...listConditionsShape,
    maxLeadAgeMs: z.number().int().positive().optional().describe('Leads older than this (since ingest accepted them) are not sold to this buyer.'),
    requireConsentEvidence: z
      .boolean()
      .default(false)
      .describe('Only leads whose consent carries evidence: when (consent.at), the wording shown (consent.text) and the IP (consent.ip).'),
    requireConsentCertificate: z
      .boolean()
      .default(false)
      .describe('Only leads with a consent certificate URL (consent.certificateUrl: TrustedForm, Jornaya LeadiD).'),
  })
  .describe('Which leads this buyer buys; every filter must pass. Lists compare ignoring case.');

export type Filters = z.output<typeof filtersSchema>;

export type FilterResult = { ok: true } | { ok: false; filter: string; detail: string; reason: string };

const norm = (v: string | null | undefined): string | null => {
  const n = v?.trim().toLowerCase();
  return n ? n : null;
};

const normalizedLists = new WeakMap<readonly string[], Set<string>>();
function setOf(list: readonly string[]): Set<string> {
  let set = normalizedLists.get(list);
  if (!set) {
    set = new Set(list.map(norm).filter((v): v is string => v !== null));
    normalizedLists.set(list, set);
  }
  return set;
}

/** The first list condition the lead fails, as { filter, detail }, or null when all hold. */
export function firstListMismatch(conditions: ListConditions, lead: LeadEvent): { filter: string; detail: string } | null {
  for (const key of LIST_FIELD_KEYS) {
    const wanted = conditions[key];
    if (!wanted) continue;
    const field = LIST_FIELDS[key];
    const actual = field.of(lead);
    const n = norm(actual);
    if (n === null || !setOf(wanted).has(n)) return { filter: field.label, detail: `${n === null ? 'unknown' : actual!.trim()} not in [${wanted.join(', ')}]` };
  }
  return null;
}

/** What a lead's consent lacks to count as evidence: ["text", "ip"], or [] when complete. */
export function missingConsentEvidence(consent: Consent | null | undefined): string[] {
  const missing: string[] = [];
  if (!consent?.at || Number.isNaN(Date.parse(consent.at))) missing.push('at');
  if (!consent?.text?.trim()) missing.push('text');
  if (!consent?.ip?.trim()) missing.push('ip');
  return missing;
}

/**
 * Whether the buyer buys this lead at `now`: ok, or the first failing filter. A buyer whose
 * contract requires consent evidence (requiresConsentEvidence) filters on it even without
 * filters.requireConsentEvidence.
 */
export function checkFilters(buyer: { filters?: Filters | undefined; requiresConsentEvidence?: boolean | undefined }, lead: LeadEvent, now: number): FilterResult {
  const f = buyer.filters;
  const failed = (filter: string, detail: string): FilterResult => ({ ok: false, filter, detail, reason: `filter ${filter}: ${detail}` });
  if (f) {
    const mismatch = firstListMismatch(f, lead);
    if (mismatch) return failed(mismatch.filter, mismatch.detail);
    if (f.maxLeadAgeMs !== undefined && now - lead.receivedAt > f.maxLeadAgeMs) {
      return failed('age', `${formatDuration(now - lead.receivedAt)} old, max ${formatDuration(f.maxLeadAgeMs)}`);
    }
  }
  if (f?.requireConsentEvidence || buyer.requiresConsentEvidence) {
    const missing = missingConsentEvidence(lead.consent);
    if (missing.length > 0) return failed('consent', `no consent evidence (missing ${missing.map((m) => `consent.${m}`).join(', ')})`);
  }
  if (f?.requireConsentCertificate && !lead.consent?.certificateUrl?.trim()) return failed('consent', 'no consent certificate (consent.certificateUrl)');
  return { ok: true };
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}min`;
  return `${Math.round(ms / 3_600_000)}h`;
}
