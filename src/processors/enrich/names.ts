/**
 * Person names as typed on a form: trimmed, whitespace collapsed, and title-cased only where the
 * person did not choose a casing. A word already in mixed case ("McDonald", "DeShawn", "van der
 * Berg" typed that way) is the person's own spelling and is left alone; only all-lower and
 * ALL-UPPER words are re-cased, with the rules that keep common surnames intact:
 *
 *   O'Brien, D'Angelo     a capital after a one-letter prefix and an apostrophe
 *   McDonald              Mc + capital (Mc is never a name on its own)
 *   MacArthur             Mac + capital only for known Mac- surnames: Macias, Machado, Mackey,
 *                         Macy are names in their own right
 *   Smith-Jones           each part of a hyphenated name
 *   de la Cruz, van Dyk   particles stay lower case unless they are the whole (last) word
 *   Jr, III               generational suffixes
 */

const PARTICLES = new Set(['de', 'del', 'della', 'der', 'den', 'di', 'da', 'das', 'dos', 'du', 'la', 'le', 'van', 'von', 'ten', 'ter', 'y', 'e', 'bin', 'ibn']);
const SUFFIXES: Readonly<Record<string, string>> = { jr: 'Jr', sr: 'Sr', ii: 'II', iii: 'III', iv: 'IV', v: 'V' };
const MAC_NAMES = new Set([
  'macarthur', 'macdonald', 'macdougall', 'macfarlane', 'macgregor', 'macinnes', 'macintosh', 'macintyre', 'mackay',
  'mackenzie', 'mackinnon', 'maclean', 'macleod', 'macmillan', 'macnamara', 'macneil', 'macpherson', 'macaulay',
  'macdowell', 'maccallum', 'maclaren', 'macquarrie', 'macrae',
]);

export function normalizePersonName(raw: string | null | undefined): string {
  const words = (raw ?? '').trim().split(/\s+/).filter((w) => w !== '');
  return words.map((w, i) => caseWord(w, i === words.length - 1)).join(' ');
}

export function normalizeNames(first: string | null | undefined, last: string | null | undefined): { first: string; last: string } {
  return { first: normalizePersonName(first), last: normalizePersonName(last) };
}

function isMixedCase(word: string): boolean {
  return word !== word.toLowerCase() && word !== word.toUpperCase();
}

function caseWord(word: string, isLast: boolean): string {
  if (isMixedCase(word)) return word;
  const lower = word.toLowerCase();
  const bare = lower.replace(/\.$/, '');
  const suffix = SUFFIXES[bare];
  if (suffix && isLast && bare.length > 1) return suffix + (lower.endsWith('.') ? '.' : '');
  if (PARTICLES.has(lower) && !isLast) return lower;
  return lower
    .split('-')
    .map((part) => casePart(part))
    .join('-');
}

function casePart(part: string): string {
  if (part === '') return part;
  // O'Brien, D'Angelo: one letter, an apostrophe, then the name.
  const apostrophe = /^([a-z])(['’])(\p{L}.*)$/u.exec(part);
  if (apostrophe) return apostrophe[1]!.toUpperCase() + apostrophe[2]! + capitalize(apostrophe[3]!);
  if (part.length > 3 && part.startsWith('mc')) return 'Mc' + capitalize(part.slice(2));
  if (MAC_NAMES.has(part)) return 'Mac' + capitalize(part.slice(3));
  return capitalize(part);
}

function capitalize(s: string): string {
  const first = s.codePointAt(0);
  if (first === undefined) return s;
  const head = String.fromCodePoint(first);
  return head.toUpperCase() + s.slice(head.length);
}
