/**
 * The first text a lead receives, composed from a template with {firstName}, {jobTitle} and
 * {city}. Four promises:
 *  1. No broken text: a missing or junk value gets a fallback ("Hi there,", "near you"), never
 *     "Hi ," or "near null".
 *  2. Opt-out wording is always there: carriers filter (and regulators fine) messages without
 *     it, so a template lacking STOP gets " Reply STOP to opt out." appended, and shortening
 *     never touches the template's own words.
 *  3. One segment when it can be done: each extra segment is billed, so the values are shortened
 *     (job title words, then city, then first name) until the text fits 160 GSM-7 characters,
 *     choosing the variant that loses least. Accents outside GSM-7 are folded (ç → c) and so are
 *     the template's typographic lookalikes (’ “ ” – — …, usually pasted from a document), so
 *     one character does not switch the whole message to UCS-2 (70 characters); Twilio's "smart
 *     encoding" does the same. A template that still needs UCS-2 (an emoji) was chosen that way:
 *     its values are not gutted to squeeze into 70 characters.
 *  4. No links or numbers of the lead's making: URLs, e-mail addresses and phone-like digit runs
 *     are taken out of every value (contact-scrub.ts), so a lead cannot make us text them.
 */
import type { Lead } from '../../lead.js';
import { stripContactInfo } from './contact-scrub.js';
import { countSegments, isGsm7, isGsm7Char, type SegmentCount } from './segments.js';

export const DEFAULT_FIRST_MESSAGE_TEMPLATE =
  'Hi {firstName}, {jobTitle} jobs near {city} are hiring now. Reply MORE for more, STOP to opt out.';

export const OPT_OUT_SUFFIX = ' Reply STOP to opt out.';

export interface TemplateValues {
  firstName: string;
  jobTitle: string;
  city: string;
}
export type Placeholder = keyof TemplateValues;
const PLACEHOLDERS: readonly Placeholder[] = ['firstName', 'jobTitle', 'city'];

/** Used when a value is missing or unusable; chosen to read naturally in the default template. */
export const DEFAULT_FALLBACKS: TemplateValues = { firstName: 'there', jobTitle: 'New', city: 'you' };

export interface ComposedMessage {
  text: string;
  segments: SegmentCount;
  /** The values that went into the text, after cleaning and shortening. */
  values: TemplateValues;
  /** True when a value was shortened or replaced by its fallback to save a segment. */
  shortened: boolean;
}

export type LeadForTemplate = Pick<Lead, 'firstName' | 'jobTitle' | 'enrichment'>;
export type FirstMessageComposer = (lead: LeadForTemplate) => ComposedMessage;

/**
 * Validates a template once (unknown placeholders throw: a typo like {fristName} would otherwise
 * be texted verbatim to every lead) and returns the composer.
 */
export function compileTemplate(template: string = DEFAULT_FIRST_MESSAGE_TEMPLATE, fallbacks: Partial<TemplateValues> = {}): FirstMessageComposer {
  if (!template.trim()) throw new Error('SMS template is empty');
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    if (!PLACEHOLDERS.includes(m[1] as Placeholder)) {
      throw new Error(`SMS template has unknown placeholder {${m[1]}}; allowed: ${PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`);
    }
  }
  const folded = foldLookalikes(template);
  const withOptOut = /\bSTOP\b/.test(folded) ? folded : folded.trimEnd() + OPT_OUT_SUFFIX;
  const fb: TemplateValues = { ...DEFAULT_FALLBACKS, ...fallbacks };
  // Shorten values only when one GSM-7 segment is reachable at all (see 3. above).
  const shortenable = isGsm7(render(withOptOut, { firstName: '', jobTitle: '', city: '' }));
  return (lead) => compose(withOptOut, fb, lead, shortenable);
}

/** Composes with the default template and fallbacks. */
export function composeFirstMessage(lead: LeadForTemplate, template?: string, fallbacks?: Partial<TemplateValues>): ComposedMessage {
  return compileTemplate(template, fallbacks)(lead);
}

export function render(template: string, values: TemplateValues): string {
  return template
    .replace(/\{(firstName|jobTitle|city)\}/g, (_, k: Placeholder) => values[k])
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ ([,.!?;:])/g, '$1') // an empty fallback must not leave "Hi ," (spaces are single by now)
    .trim();
}

interface Variant {
  value: string;
  /** How much meaning this variant gives up; the composer minimises the sum. */
  loss: number;
}

function compose(template: string, fb: TemplateValues, lead: LeadForTemplate, shortenable: boolean): ComposedMessage {
  const e = lead.enrichment;
  const name = cleanFirstName(e?.name.first || lead.firstName);
  const title = e?.jobTitle.canonical ? cleanCanonicalTitle(e.jobTitle.canonical) : cleanRawJobTitle(e?.jobTitle.raw || lead.jobTitle);
  const city = cleanCity(e?.timezone.city ?? null);

  const names = nameVariants(name, fb.firstName);
  const titles = titleVariants(title, fb.jobTitle);
  const cities: Variant[] = city ? [{ value: city, loss: 0 }, { value: fb.city, loss: 3 }] : [{ value: fb.city, loss: 0 }];

  let best: { text: string; seg: SegmentCount; loss: number; values: TemplateValues } | null = null;
  for (const n of shortenable ? names : names.slice(0, 1)) {
    for (const t of shortenable ? titles : titles.slice(0, 1)) {
      for (const c of shortenable ? cities : cities.slice(0, 1)) {
        const values = { firstName: n.value, jobTitle: t.value, city: c.value };
        const text = render(template, values);
        const seg = countSegments(text);
        const loss = n.loss + t.loss + c.loss;
        if (!best || seg.segments < best.seg.segments || (seg.segments === best.seg.segments && loss < best.loss)) {
          best = { text, seg, loss, values };
        }
      }
    }
  }
  // names/titles/cities always hold at least one variant, so best is set.
  const chosen = best!;
  return { text: chosen.text, segments: chosen.seg, values: chosen.values, shortened: chosen.loss > 0 };
}

function nameVariants(name: string | null, fallback: string): Variant[] {
  if (!name) return [{ value: fallback, loss: 0 }];
  const out: Variant[] = [{ value: name, loss: 0 }];
  const first = name.split(' ')[0];
  if (first && first !== name) out.push({ value: first, loss: 1 });
  out.push({ value: fallback, loss: 8 });
  return out;
}

function titleVariants(title: string | null, fallback: string): Variant[] {
  if (!title) return [{ value: fallback, loss: 0 }];
  const out: Variant[] = [{ value: title, loss: 0 }];
  // Drop leading words: English job titles put the head noun last ("Certified Nursing Assistant"
  // → "Nursing Assistant" → "Assistant"), so the end keeps the meaning.
  const words = title.split(' ');
  for (let i = 1; i < words.length; i++) out.push({ value: words.slice(i).join(' '), loss: i });
  out.push({ value: fallback, loss: 6 });
  return out;
}

// ---- cleaning ---------------------------------------------------------------------------------

const JUNK_NAMES = new Set(['test', 'n/a', 'na', 'none', 'null', 'undefined', 'unknown', 'asdf', 'xxx', 'first', 'name', 'firstname']);

export function cleanFirstName(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let s = trimSet(toGsmFriendly(stripContactInfo(raw)).replace(/[^\p{L}\p{M}' .-]/gu, ' ').replace(/\s+/g, ' '), "-'. ", "-' ");
  // A long name: its first part ("Mary-Kate Elizabeth" → "Mary"); a name cut mid-word reads worse than "there".
  if (s.length > 20) s = s.split(/[ -]/)[0] ?? s;
  if (s.length > 20) return null;
  if (!/\p{L}.*\p{L}/u.test(s) || JUNK_NAMES.has(s.toLowerCase())) return null;
  return fixCase(s, false);
}

export function cleanCity(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const s = trimSet(toGsmFriendly(stripContactInfo(raw)).replace(/[^\p{L}\p{M}\p{N}' .,-]/gu, ' ').replace(/\s+/g, ' '), ' ', ' ,.-');
  if (!/\p{L}{2}/u.test(s) || /^(null|undefined|unknown|n\/a)$/i.test(s)) return null;
  return fixCase(s, false);
}

function cleanCanonicalTitle(raw: string): string | null {
  const s = toGsmFriendly(stripContactInfo(raw)).replace(/ jobs?$/i, '');
  return s && /\p{L}/u.test(s) ? s : null;
}

/** Words in a job ad title that describe the ad, not the job. */
export const AD_NOISE = new RegExp(
  '\\b(' +
    [
      'full[- ]?time', 'part[- ]?time', 'ft', 'pt', 'prn', 'per diem', 'temp(orary)?', 'seasonal',
      '(1st|2nd|3rd|first|second|third|day|night|evening|overnight|weekend|am|pm|swing|graveyard) shifts?',
      'weekends?', 'overnight', 'remote', 'hybrid', 'on[- ]?site', 'entry[- ]level', 'no experience( needed| required)?',
      'hiring (now|immediately|asap)', 'now hiring', 'urgent(ly)?', 'immediate(ly)?( start| hire)?', 'apply (now|today)',
      'flexible (hours|schedule)', 'sign[- ]on bonus', 'tips',
    ].join('|') +
    ')\\b',
  'gi',
);

/**
 * Turns an ad-style title ("Forklift Operator - Hiring Immediately!", "Cashier / Front End -
 * Kroger", "Line Cook - $20/hr + Tips") into the job ("Forklift Operator", "Cashier", "Line Cook"):
 * the job comes first, details after a separator; pay, shifts and ad phrases are noise.
 */
export function cleanRawJobTitle(raw: string | null | undefined): string | null {
  if (!raw) return null;
  // Links and phone numbers go first, before splitting or the 40-character cut can hide them.
  let s = toGsmFriendly(stripContactInfo(raw))
    .replace(/\([^()]*\)|\[[^[\]]*\]/g, ' ')
    .split(/\s[-–—|/]\s|[|!,;:]|\s\/|\/\s/)[0] ?? '';
  s = s
    .replace(/\$\s?\d[\d,.]*(\s*(\/|per)\s*(hr|hour|h|wk|week|yr|year|annually))?\+?/gi, ' ')
    // The rate suffix is optional so a digit run is consumed whole, once (linear); \b by hand.
    .replace(/\d[\d,.]*(\s*(?:\/|per)\s*(?:hr|hour|h)\b)?/gi, (m, rate?: string, at = 0, all = '') => (rate && !/\w/.test(all.charAt(at - 1)) ? ' ' : m))
    .replace(AD_NOISE, ' ')
    .replace(/[^\p{L}\p{M}\p{N}&'+#. -]/gu, ' ')
    .replace(/\s+/g, ' ');
  s = trimSet(s, "-&+.' ", "-&+.' ").replace(/ jobs?$/i, '');
  const lastSpace = s.length > 40 ? s.lastIndexOf(' ', 39) : -1;
  if (s.length > 40) s = s.slice(0, lastSpace > 0 ? lastSpace : 40); // whole words when it can
  if (!/\p{L}{2}/u.test(s)) return null;
  return fixCase(s, true);
}

/**
 * Title-cases text typed all in one case ("JOHN", "st. louis"); mixed case is the person's
 * choice and kept. In job titles short all-caps words are acronyms (RN, CDL, CNA) and stay.
 */
function fixCase(s: string, keepAcronyms: boolean): string {
  const letters = s.replace(/[^\p{L}]/gu, '');
  const allUpper = letters === letters.toUpperCase();
  const allLower = letters === letters.toLowerCase();
  if (!allUpper && !allLower) return s;
  return s.replace(/[\p{L}\p{M}]+/gu, (w) => {
    // Short all-caps words are usually acronyms (RN, CDL, ICU): keep them.
    if (keepAcronyms && allUpper && w.length <= 3) return w;
    return w.charAt(0).toUpperCase() + w.slice(1).toLowerCase();
  });
}

/** Strips characters of `lead` from the start and of `trail` from the end; a loop, as `[…]+$` is quadratic. */
function trimSet(s: string, lead: string, trail: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && lead.includes(s[start]!)) start++;
  while (end > start && trail.includes(s[end - 1]!)) end--;
  return s.slice(start, end);
}

const GSM_LOOKALIKES: Record<string, string> = {
  '\u2018': "'", '\u2019': "'", '\u201A': "'", '\u02BC': "'", '\u201C': '"', '\u201D': '"', '\u201E': '"',
  '\u2013': '-', '\u2014': '-', '\u2010': '-', '\u2011': '-', '\u2026': '...', '\u00A0': ' ', '\u2009': ' ',
};

/** Replaces typographic lookalikes (curly quotes, dashes, ellipsis, odd spaces) with their GSM-7 twins. */
export function foldLookalikes(s: string): string {
  let out = '';
  for (const ch of s) out += GSM_LOOKALIKES[ch] ?? ch;
  return out;
}

/**
 * Folds characters outside GSM-7 to their nearest GSM-7 spelling (curly quotes, dashes, ç → c,
 * ã → a), so a value does not push the whole text into UCS-2. Characters with no GSM-7 spelling
 * (other scripts, emoji) are kept: dropping letters would mangle a name.
 */
export function toGsmFriendly(s: string): string {
  if (isGsm7(s)) return s;
  let out = '';
  for (const ch of s) {
    if (isGsm7Char(ch)) out += ch;
    else if (GSM_LOOKALIKES[ch] !== undefined) out += GSM_LOOKALIKES[ch];
    else {
      const base = ch.normalize('NFD').replace(/\p{M}+/gu, '');
      out += base && isGsm7(base) ? base : ch;
    }
  }
  return out;
}
