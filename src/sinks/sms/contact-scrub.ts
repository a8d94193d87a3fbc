/**
 * Takes out of a lead's value (name, job title, city) everything a phone would turn into a tap
 * target before it goes into our text: web addresses with or without a scheme ("http://x.y/z",
 * "www.x.com", "evil.example"), e-mail addresses, and digit runs that could be dialled ("0800 999
 * 1234", "+1 415 555 0132"). Whoever controls a lead's fields must not be able to send links or
 * premium numbers to people under our sender name.
 *
 * The rule is deliberately generic (any "word.word" ending in two or more letters is a host): a
 * link-looking title such as "ASP.NET" or "Sr.Manager" loses that word, which is the right trade
 * in a text message. Numbers that are not phone-like stay ("RN 3.5 yrs", "24/7", "401k").
 *
 * Every pattern is anchored or made of character classes that never compete for a character,
 * and words are judged one at a time, so the cost is linear in the value's length.
 */

/** A digit run with up to three separators between digits; removed when it holds 7+ digits. */
const DIGIT_RUN = /\+?\(?\p{Nd}(?:[\s.()/-]{0,3}\p{Nd})+/gu;
const MIN_PHONE_DIGITS = 7;
const DIGIT = /\p{Nd}/gu;
const WHITESPACE = /\s+/u;
/** "http://", "ftp://", "intent://" and the schemes without slashes that phones still act on. */
const SCHEME = /^(?:[a-z][a-z\d+.-]*:\/\/|(?:mailto|tel|sms|smsto|callto|facetime|whatsapp|skype):)/i;
const WWW = /^www\d{0,3}[.\u3002]/i;
/** Splits a word into pieces that could be host names (dots of any script kept inside). */
const NOT_HOST_CHAR = /[^\p{L}\p{M}\p{N}_.\u3002-]+/u;
const DOT = /\u3002|\./u;
const LABEL = /^[\p{L}\p{M}\p{N}_-]+$/u;
const TOP_LEVEL = /^(?:\p{L}[\p{L}\p{M}]+|xn--[a-z\d-]+)$/iu;

/** The value without links, e-mail addresses and phone-like numbers; whitespace collapsed. */
export function stripContactInfo(value: string): string {
  // NFKC first: fullwidth digits, "．" and "｡" would otherwise slip past as non-ASCII lookalikes.
  const withoutNumbers = value.normalize('NFKC').replace(DIGIT_RUN, (run) => (countDigits(run) >= MIN_PHONE_DIGITS ? ' ' : run));
  return withoutNumbers
    .split(WHITESPACE)
    .filter((word) => word !== '' && !isContactWord(word))
    .join(' ');
}

/** True when a whitespace-delimited word holds an e-mail address, a URL or a host name. */
export function isContactWord(word: string): boolean {
  if (word.includes('@')) return true; // an address, or a handle: neither belongs in a job title
  const bare = trimPunctuation(word);
  if (SCHEME.test(bare) || WWW.test(bare)) return true;
  return bare.split(NOT_HOST_CHAR).some(isHostName);
}

function isHostName(piece: string): boolean {
  const labels = trimDots(piece).split(DOT);
  if (labels.length < 2) return false;
  return labels.every((l) => LABEL.test(l)) && TOP_LEVEL.test(labels[labels.length - 1]!);
}

function countDigits(s: string): number {
  return s.match(DIGIT)?.length ?? 0;
}

/** Drops leading and trailing characters that are not letters or digits ("(evil.example)." → "evil.example"). */
function trimPunctuation(word: string): string {
  const chars = [...word];
  let start = 0;
  let end = chars.length;
  while (start < end && !isWordChar(chars[start]!)) start++;
  while (end > start && !isWordChar(chars[end - 1]!)) end--;
  return chars.slice(start, end).join('');
}

function trimDots(piece: string): string {
  let start = 0;
  let end = piece.length;
  while (start < end && (piece[start] === '.' || piece[start] === '\u3002')) start++;
  while (end > start && (piece[end - 1] === '.' || piece[end - 1] === '\u3002')) end--;
  return piece.slice(start, end);
}

const WORD_CHAR = /^[\p{L}\p{M}\p{N}]$/u;
function isWordChar(ch: string): boolean {
  return WORD_CHAR.test(ch);
}
