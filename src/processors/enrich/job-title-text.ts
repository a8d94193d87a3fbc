/**
 * Text clean-up for job titles as vendors send them: "RN - Registered Nurse - ICU - $5,000 Sign
 * On Bonus", "WAREHOUSE ASSOCIATE *** NOW HIRING ***", "Pharmacy Tech 🚀 (Req #4411)".
 *
 * A title is cut into segments at punctuation (" - ", "/", "(", ",", "|", ...) because posters
 * pack the job, the employer, the shift and the pitch into one line; the matcher then scores each
 * segment on its own and keeps the best. Things that are never part of a job name — pay,
 * requisition numbers, durations, emojis, letter case — are removed here with patterns; words
 * that are noise only in context (shifts, employment type, slogans, brands) are removed later
 * from token lists with the phrase sets of job-title-data.ts.
 */

/** Segments of a title, each a list of lower-case ASCII tokens with abbreviations expanded. */
export type Segments = string[][];

// Pay: "$18/hr", "$17.50/hour", "$1,800/wk", "$5,000", "$50k-$60k a year", "up to $25 per hour", "18/hr", ".65 cpm".
const MONEY = /(?:up to\s*)?\$+\s*\d[\d,]*(?:\.\d+)?\s*k?(?:\s*(?:-|–|to)\s*\$*\s*\d[\d,]*(?:\.\d+)?\s*k?)?(?:\s*(?:\/|per\b|an\b|a\b)\s*(?:hr|hour|hourly|h|wk|week|yr|year|annually|mo|month|day|shift|load|mile)s?\b)?/gi;
const RATE = /\b\d+(?:\.\d+)?\s*(?:\/|per\s+)(?:hr|hour|h|wk|week|yr|year|day|mile)s?\b|\b\d*\.?\d+\s*(?:cpm|cents per mile)\b/gi;
const DOLLARS = /\$+/g;
// Requisition and posting ids: "Req #48213", "Req 4411", "Job ID: A-1234", "#12345", "Ref 77".
const REQUISITION = /\b(?:req(?:uisition)?|job\s*(?:id|#|no\.?|number)|ref(?:erence)?|posting|id)\s*(?:#|no\.?|number|id)?\s*:?\s*[a-z]{0,3}-?\d[\w-]*/gi;
const HASH_ID = /#\s*[a-z]{0,3}-?\d[\w-]*/gi;
// Durations and sizes that ride along: "13 weeks", "12 hour shifts", "4x10s", "26ft", "2+ years experience".
const DURATION = /\b\d+\s*(?:weeks?|wks?|months?|mos?)\b|\b\d+\s*(?:-\s*)?(?:hour|hr)s?\s*shifts?\b|\b\d+\s*x\s*\d+s?\b|\b\d+\s*(?:ft|foot|feet|')\b|\b\d+\s*\+?\s*(?:years?|yrs?)(?:\s*(?:of\s*)?exp(?:erience)?)?\b/gi;
// Emojis and pictographs, with their joiners and variation selectors.
const PICTOGRAPHS = /[\p{Extended_Pictographic}\u{1F1E6}-\u{1F1FF}\u200d\ufe0f\u20e3]/gu;
const DIACRITICS = /[\u0300-\u036f]/g;
// Where a title splits into independent segments. A hyphen splits only when spaced on one side
// at least ("Driver - Amazon", "Driver- Amazon"); inside a word it joins ("CDL-A", "Full-Time").
const SEPARATORS = /\s+[-–—]+\s*|\s*[-–—]+\s+|[|/\\,;:()[\]{}<>*!?•·~+="“”]|\.{2,}|\s@\s/;
// Ordinal / level suffixes that are not part of the occupation: "Assembler I", "Admin Assistant II".
const TRAILING_LEVEL = /^(?:i|ii|iii|iv|v|\d+)$/;

// Dotted acronyms: "C.N.A." → "cna", "R.N." → "rn" (else they fall apart into single letters).
const DOTTED_ACRONYM = /\b(?:[a-z]\.){2,}(?:[a-z]\b)?/g;

/** Rewrites that must happen before punctuation disappears. */
const GLUE: Array<[RegExp, string]> = [
  [/\ba\s*\/\s*p\b/g, ' accounts payable '],
  [/\ba\s*\/\s*r\b/g, ' accounts receivable '],
  [/\bw\s*\/(?=\s)/g, ' with '],
  [/\bnon[\s-]+(?=[a-z])/g, 'non'], // "Non-CDL" is one idea, not "non" + "cdl"
  [/\bpre[\s-]?k\b/g, 'prek'],
  [/\bx[\s-]ray\b/g, 'xray'],
  [/\be[\s-]commerce\b/g, 'ecommerce'],
  [/&/g, ' and '],
  [/['’`]/g, ''], // "McDonald's" → "mcdonalds", like the brand list writes it; "teachers" → teacher later

];

/** Lower-case, ASCII, emoji-free; pay, ids and durations removed. Not yet split. */
export function cleanTitleText(raw: string): string {
  let s = raw.normalize('NFKD').replace(DIACRITICS, '').replace(PICTOGRAPHS, ' ').toLowerCase();
  s = s.replace(MONEY, ' ').replace(RATE, ' ').replace(DOLLARS, ' ');
  s = s.replace(REQUISITION, ' ').replace(HASH_ID, ' ').replace(DURATION, ' ');
  s = s.replace(DOTTED_ACRONYM, (m) => m.replace(/\./g, ''));
  for (const [pattern, replacement] of GLUE) s = s.replace(pattern, replacement);
  return s;
}

/** Splits a cleaned title into token lists; `expand` maps a token to its expansion (abbreviations). */
export function segmentTitle(raw: string, expand: (token: string) => readonly string[]): Segments {
  const segments: Segments = [];
  for (const part of cleanTitleText(raw).split(SEPARATORS)) {
    const tokens: string[] = [];
    for (const word of part.split(/[^a-z0-9]+/)) {
      if (word.length === 0) continue;
      // Single letters ("Class A", "K-12") and bare numbers carry no occupation.
      if (word.length === 1 || /^\d+$/.test(word)) continue;
      for (const t of expand(word)) tokens.push(t);
    }
    while (tokens.length > 1 && TRAILING_LEVEL.test(tokens[tokens.length - 1]!)) tokens.pop();
    if (tokens.length > 0) segments.push(tokens);
  }
  return segments;
}

/** A set of multi-word phrases matched on whole tokens, longest first. */
export class PhraseSet {
  private readonly byFirst = new Map<string, string[][]>();
  private size = 0;

  add(tokens: readonly string[]): void {
    const first = tokens[0];
    if (first === undefined) return;
    const list = this.byFirst.get(first) ?? [];
    list.push([...tokens]);
    list.sort((a, b) => b.length - a.length);
    this.byFirst.set(first, list);
    this.size++;
  }

  get count(): number {
    return this.size;
  }

  /** True when `token` starts any phrase (a cheap pre-check). */
  starts(token: string): boolean {
    return this.byFirst.has(token);
  }

  /** Length of the longest phrase starting at tokens[i], or 0. */
  matchAt(tokens: readonly string[], i: number): number {
    const candidates = this.byFirst.get(tokens[i]!);
    if (!candidates) return 0;
    for (const phrase of candidates) {
      if (i + phrase.length > tokens.length) continue;
      let ok = true;
      for (let k = 1; k < phrase.length; k++) {
        if (tokens[i + k] !== phrase[k]) {
          ok = false;
          break;
        }
      }
      if (ok) return phrase.length;
    }
    return 0;
  }

  /** The tokens with every phrase occurrence removed. */
  remove(tokens: readonly string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < tokens.length; ) {
      const n = this.matchAt(tokens, i);
      if (n > 0) i += n;
      else out.push(tokens[i++]!);
    }
    return out;
  }
}
