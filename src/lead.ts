/**
 * The lead as it travels the pipeline. One shape from ingest to the sinks: each stage adds its
 * section (enrichment, delivery, rejection) instead of inventing a new record, so a data team
 * reading any topic sees the same fields. The Avro twin of these types is schemas/avro/lead-event.avsc.
 */

/** Markets we route for. A lead's market comes from its country; UK leads take their own path. */
export type Market = 'US' | 'UK';

/** What a vendor POSTs to /v1/leads, after JSON-schema validation. */
export interface LeadInput {
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  /** US ZIP (5 digits or ZIP+4) for US leads. */
  zip?: string | null;
  /** UK postcode for UK leads. */
  postcode?: string | null;
  /** ISO 3166-1 alpha-2; "UK" is accepted at ingest and stored as "GB". */
  country: 'US' | 'GB';
  /** The job title the person searched for, as typed. */
  jobTitle: string;
  source: string;
  vendor: string;
  vendorLeadId?: string | null;
  consent: Consent;
}

export interface Consent {
  /** Whether the person opted in to text messages. */
  sms: boolean;
  email?: boolean | null;
  /** ISO-8601 timestamp of the opt-in. */
  at: string;
  text?: string | null;
  ip?: string | null;
  /** Consent certificate (TrustedForm / Jornaya LeadiD URL): travels to buyers as evidence. */
  certificateUrl?: string | null;
}

export type EmailStatus = 'valid' | 'invalid' | 'risky' | 'unknown';

export interface EmailEnrichment {
  /** Lower-cased, trimmed address. */
  address: string;
  status: EmailStatus;
  /** Why: "syntax", "disposable_domain", "verifier:mailbox_not_found", "verifier_timeout", ... */
  reason: string;
  source: 'local' | 'cache' | 'verifier';
  /** "gmial.com" → "jane@gmail.com": a suggestion, never a silent rewrite. */
  suggestion: string | null;
}

export interface PhoneEnrichment {
  e164: string | null;
  /** libphonenumber-js type: MOBILE, FIXED_LINE, FIXED_LINE_OR_MOBILE, VOIP, ... or null when unknown. */
  type: string | null;
  valid: boolean;
  country: string | null;
  reason: string | null;
}

export interface TimezoneEnrichment {
  /** IANA zone, e.g. America/Chicago; null when unknown (see reason). */
  zone: string | null;
  /** Offset from UTC at enrichment time, in minutes (e.g. -300). */
  utcOffsetMinutes: number | null;
  /** Whether the zone observes daylight saving time. */
  dst: boolean | null;
  state: string | null;
  city: string | null;
  reason: string | null;
}

export interface JobTitleEnrichment {
  raw: string;
  canonical: string | null;
  category: string | null;
  /** 0..1, higher is a better match; null when nothing matched. */
  score: number | null;
}

export interface Enrichment {
  name: { first: string; last: string };
  email: EmailEnrichment;
  phone: PhoneEnrichment;
  timezone: TimezoneEnrichment;
  jobTitle: JobTitleEnrichment;
  enrichedAt: number;
}

export interface Lead extends LeadInput {
  /** Time-ordered id (UUIDv7) assigned at ingest. */
  leadId: string;
  /** Epoch milliseconds when ingest accepted the lead. */
  receivedAt: number;
  /** Stages and destinations this lead has passed through; the loop guard counts them. */
  hops: string[];
  enrichment: Enrichment | null;
}

/** One delivery of a lead to one destination ("primary:buyer-us", "sms:twilio", "search:leads"). */
export interface Delivery {
  destination: string;
  /** The rule that sent the lead here. */
  rule: string;
  /** 0 for the first try; the backup stage increments it. */
  attempt: number;
  firstAttemptAt: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  /** Further destinations of the same kind to try when this one fails (SMS fallback). */
  fallbacks: string[];
}

export interface Rejection {
  reason: string;
  stage: string;
  at: number;
}

export interface DeadLetter {
  reason: string;
  stage: string;
  at: number;
  /** Where the lead was read from when it died. */
  topic: string;
  partition: number;
  offset: string;
}

/** What the distribution did with one buyer: accepted, rejected, failed transiently, passed... */
export interface DistributionAttempt {
  buyer: string;
  at: number;
  /** accepted | rejected | retriable | returned | skipped (capped at send time) | gave-up (deadline passed). */
  outcome: 'accepted' | 'rejected' | 'retriable' | 'returned' | 'skipped' | 'gave-up';
  reason: string | null;
  /** The buyer's own id for the lead, when its reply has one. */
  buyerLeadId: string | null;
  /** What the buyer pays (accepted) or was credited back (returned). */
  price: number | null;
}

/**
 * A lead's distribution among buyers (src/distribution): the plan made once, then every attempt.
 * Carried on leads.backup and leads.unsold records so a retry never re-plans, and so a lead nobody
 * bought can be redistributed later with every reason at hand.
 */
export interface DistributionState {
  /** What the rule named: a buyer group, or one buyer. */
  target: string;
  /** The rule named one buyer: today's single-buyer delivery (retry policy, DLQ on rejection). */
  single: boolean;
  method: string;
  maxBuyers: number;
  deadlineMs: number;
  redistributeOnReturn: boolean;
  plannedAt: number;
  /** 0 for the first plan; +1 each time the lead is planned again (a return, an unsold replay). */
  round: number;
  candidates: { buyer: string; price: number | null; priceSource: string | null }[];
  skipped: { buyer: string; reason: string }[];
  attempts: DistributionAttempt[];
  /** open: in progress; sold: every buyer it will get; unsold: nobody took it; returned: plan again. */
  status: 'open' | 'sold' | 'unsold' | 'returned';
}

/** What every topic carries: the lead plus the section of the stage that wrote it. */
export interface LeadEvent extends Lead {
  delivery: Delivery | null;
  rejection: Rejection | null;
  deadLetter: DeadLetter | null;
  /** Absent (null) until sink-primary plans the lead among a rule's buyers. */
  distribution?: DistributionState | null;
}

/** Idempotency key of one delivery: the same lead to the same destination is the same delivery. */
export function deliveryKey(leadId: string, destination: string): string {
  return `${leadId}:${destination}`;
}

export function marketOf(lead: Pick<LeadInput, 'country'>): Market {
  return lead.country === 'GB' ? 'UK' : 'US';
}
