/**
 * May this lead's phone receive our texts at all? Asked before consent, quiet hours, rate limits
 * and opt-outs: whoever posts a lead chooses its phone number, and a number that is not a
 * handset in the lead's own market turns our SMS budget and sender reputation into their tool
 * (texts to a premium-rate line they are paid for, international texts billed at many times the
 * domestic rate, texts to numbers that cannot receive them).
 *
 * A pure function of the market and the phone enrichment (src/processors/enrich/phone.ts, which
 * reads the type from libphonenumber-js's `max` metadata). Texted only when all three hold:
 *  1. the number is valid (an E.164 number exists);
 *  2. its type is mobile-capable: MOBILE, or FIXED_LINE_OR_MOBILE (US numbering cannot tell the
 *     two apart, so most US numbers are that). Premium-rate, toll-free, shared-cost, personal,
 *     pager, UAN, voicemail, VoIP and fixed-line numbers, and an unknown type, are never texted;
 *  3. it belongs to the market: its calling code is the market's and its country is one of
 *     MARKET_COUNTRIES (see there for the territories that count as home).
 * The reason names the type or the country, never the number: it ends up in logs and history.
 */
import { marketOf, type LeadEvent, type Market, type PhoneEnrichment } from '../../lead.js';

export type SmsGuardDecision = { allowed: true } | { allowed: false; code: SmsBlockCode; reason: string };
/** For counting: no usable number, a number that is not a handset, a number from elsewhere. */
export type SmsBlockCode = 'invalid' | 'not_mobile' | 'foreign';

/** libphonenumber-js types that reach a handset able to receive SMS. */
const MOBILE_CAPABLE: ReadonlySet<string> = new Set(['MOBILE', 'FIXED_LINE_OR_MOBILE']);

/**
 * The countries (as libphonenumber-js reports them) whose numbers a market texts.
 *  - US: the US and the territories that share +1 NANP numbering, US carriers and US messaging
 *    rules (TCPA, 10DLC): Puerto Rico, the US Virgin Islands, Guam, American Samoa, the Northern
 *    Mariana Islands. Canada and the Caribbean nations are also +1 but are foreign countries
 *    (other carriers, other law, international rates): refused.
 *  - UK: Great Britain plus the Crown Dependencies, Guernsey, Jersey and the Isle of Man. They sit
 *    inside the UK's +44 numbering plan and libphonenumber reports some mobile ranges sold by UK
 *    networks as theirs (07911 1…, 07781…, 07797…, 07624…): refusing them would refuse real UK
 *    leads. Ireland (+353) is foreign.
 */
export const MARKET_COUNTRIES: Readonly<Record<Market, ReadonlySet<string>>> = {
  US: new Set(['US', 'PR', 'VI', 'GU', 'AS', 'MP']),
  UK: new Set(['GB', 'GG', 'JE', 'IM']),
};

/** Checked against the E.164 number itself, in case the enrichment's country was wrong or stale. */
const CALLING_CODE: Readonly<Record<Market, string>> = { US: '+1', UK: '+44' };

const TYPE_NAMES: Readonly<Record<string, string>> = {
  PREMIUM_RATE: 'premium-rate',
  TOLL_FREE: 'toll-free',
  SHARED_COST: 'shared-cost',
  PERSONAL_NUMBER: 'personal (follow-me)',
  PAGER: 'pager',
  UAN: 'universal access (UAN)',
  VOICEMAIL: 'voicemail',
  VOIP: 'VoIP',
  FIXED_LINE: 'fixed-line',
};

export function smsAbuseGuard(market: Market, phone: PhoneEnrichment | null | undefined): SmsGuardDecision {
  if (!phone || !phone.valid || !phone.e164) return deny('invalid', 'no valid phone number');
  if (!phone.type) return deny('not_mobile', 'number type unknown: not known to be mobile');
  if (!MOBILE_CAPABLE.has(phone.type)) {
    const name = TYPE_NAMES[phone.type] ?? label(phone.type, /^[A-Z_]{1,32}$/);
    return deny('not_mobile', `${name} number: never texted`);
  }
  const country = phone.country ? label(phone.country, /^[A-Z]{2}$/) : null;
  if (!country) return deny('foreign', `number has no country: not in the ${market} market`);
  if (!MARKET_COUNTRIES[market].has(country)) return deny('foreign', `number from ${country}: not in the ${market} market`);
  if (!phone.e164.startsWith(CALLING_CODE[market])) {
    return deny('foreign', `number outside the ${market} market's calling code ${CALLING_CODE[market]}`);
  }
  return { allowed: true };
}

/**
 * The SMS sink's `eligible` check (src/sinks/sms/build.ts, wired in src/resources.ts): the guard
 * on the lead's market and enriched phone. A refusal becomes a `suppressed` history event with
 * this reason, so the history says why a lead was not texted.
 */
export function smsEligibility(lead: Pick<LeadEvent, 'country' | 'enrichment'>): { allowed: true } | { allowed: false; reason: string } {
  const verdict = smsAbuseGuard(marketOf(lead), lead.enrichment?.phone);
  return verdict.allowed ? verdict : { allowed: false, reason: `sms guard (${verdict.code}): ${verdict.reason}` };
}

function deny(code: SmsBlockCode, reason: string): SmsGuardDecision {
  return { allowed: false, code, reason };
}

/** A value from the enrichment put into a reason only when it has the expected shape. */
function label(value: string, shape: RegExp): string {
  return shape.test(value) ? value : 'unrecognised';
}
