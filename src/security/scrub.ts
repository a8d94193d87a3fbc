/**
 * Reasons without personal data. A buyer's or provider's error body may echo the lead it was
 * sent ("jane@example.com already exists", "invalid To +14155550132"), and such text used to go
 * verbatim into history details, DLQ headers and logs. scrubReason() keeps what an operator needs
 * (status codes, error codes, our own lead ids and timestamps) and removes:
 *   - the lead's own values when known (names, e-mail, phone in any spelling), whole words only;
 *   - anything shaped like an e-mail address (any word holding "@");
 *   - digit runs of 7+ digits, separators allowed between them (phone numbers, account numbers),
 *     except bare digits inside an identifier (letters right before or after: message ids);
 *   - control characters and line breaks (one line per reason, no log injection);
 * and caps the length. UUIDs and ISO timestamps are set aside first so they survive the digit rule.
 * Every step is a linear scan or a pattern of non-competing classes (same rules as lead-schema.ts).
 */

const DEFAULT_MAX = 200;
/** Our ids and times: kept whole. Fixed-width parts, so matching is linear. */
const KEEP = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?/g;
/** A digit run with up to three separators between digits (the contact-scrub.ts rule). */
const DIGIT_RUN = /\+?\(?\p{Nd}(?:[\s.()/-]{0,3}\p{Nd})+/gu;
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
/** Separators a word is cut at when looking for "@": JSON and header punctuation too. */
const WORD_BREAK = /([\s"'`<>()[\]{},;=]+)/;
const MIN_RUN_DIGITS = 7;
const ID_CHAR = /[\p{L}_]/u;

export interface ScrubOptions {
  /** The lead's own values (names, e-mail, phone) to remove wherever they appear. */
  known?: readonly (string | null | undefined)[];
  max?: number;
}

export function scrubReason(text: string, opts: ScrubOptions = {}): string {
  const max = opts.max ?? DEFAULT_MAX;
  // Longer input than we keep cannot matter past a margin: cut first so the work stays bounded.
  let s = text.length > max * 4 ? text.slice(0, max * 4) : text;
  s = s.replace(CONTROL, ' ');
  s = removeKnown(s, opts.known ?? []);
  const out: string[] = [];
  let last = 0;
  for (const m of s.matchAll(KEEP)) {
    out.push(scrubPart(s.slice(last, m.index)), m[0]);
    last = m.index + m[0].length;
  }
  out.push(scrubPart(s.slice(last)));
  const flat = out.join('').replace(/ {2,}/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function scrubPart(part: string): string {
  const noRuns = part.replace(DIGIT_RUN, (run: string, at: number) => {
    if ((run.match(/\p{Nd}/gu)?.length ?? 0) < MIN_RUN_DIGITS) return run;
    // Bare digits glued to letters are an identifier's middle, not a phone number: a provider
    // message id such as SMe61ab236610228b26… must survive whole, or its receipts match nothing.
    if (/^\p{Nd}+$/u.test(run) && (ID_CHAR.test(part[at - 1] ?? '') || ID_CHAR.test(part[at + run.length] ?? ''))) return run;
    return '[number]';
  });
  return noRuns
    .split(WORD_BREAK)
    .map((w) => (w.includes('@') ? '[email]' : w))
    .join('');
}

/** Case-insensitive, whole-word removal of each known value (and a phone's bare digits). */
function removeKnown(s: string, known: readonly (string | null | undefined)[]): string {
  const values = new Set<string>();
  for (const k of known) {
    const v = k?.trim();
    if (!v || v.length < 2) continue;
    values.add(v.toLowerCase());
    const digits = v.replace(/\D/g, '');
    if (digits.length >= MIN_RUN_DIGITS) values.add(digits);
  }
  let out = s;
  for (const v of [...values].sort((a, b) => b.length - a.length)) out = replaceWord(out, v);
  return out;
}

const WORD_CHAR = /[\p{L}\p{N}]/u;
function replaceWord(s: string, needle: string): string {
  const lower = s.toLowerCase();
  // toLowerCase keeps lengths for the scripts names use; if it did not, fall back to no removal
  // rather than cut at wrong offsets (the generic rules still apply).
  if (lower.length !== s.length) return s;
  let out = '';
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + 1)) {
    const before = at > 0 ? s[at - 1]! : '';
    const after = s[at + needle.length] ?? '';
    if (at < from || (before && WORD_CHAR.test(before)) || (after && WORD_CHAR.test(after))) continue;
    out += s.slice(from, at) + '[redacted]';
    from = at + needle.length;
  }
  return out + s.slice(from);
}
