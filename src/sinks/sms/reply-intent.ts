/**
 * What an inbound SMS reply asks for: STOP (opt out), START (opt back in), HELP, MORE (more
 * jobs) or OTHER (anything else: questions, thanks, chat).
 *
 * The costs are lopsided. Texting someone who asked us to stop is a TCPA/PECR violation (per
 * message fines, carrier filtering of our numbers); treating an ambiguous reply as an opt-out
 * costs one lead. So the rules lean to STOP:
 *  - opt-out phrases are looked for anywhere in the text, before any other intent, so
 *    "yes stop" or "help me stop these texts" opt out;
 *  - a short reply (≤ 3 words once fillers like "please" are dropped) that is, or is a typo of,
 *    an opt-out keyword opts out; typos are measured by edit distance (fuzzy.ts), keyboard-aware
 *    for short keywords so "stoo" counts but "shop" does not;
 *  - clear refusals ("not interested", "wrong number", "leave me alone", abuse, "I never signed
 *    up") opt out too: they revoke consent "by any reasonable means" (FCC 2024 rule).
 * Questions, thanks and acknowledgements have none of these signals and stay OTHER.
 * The rules are general (keyword sets, typo distance, phrase shapes), not a list of known replies.
 */
import { editDistance, squeeze } from './fuzzy.js';

export type ReplyIntent = 'STOP' | 'START' | 'HELP' | 'MORE' | 'OTHER';

// ---- vocabulary -------------------------------------------------------------------------------

/** Opt-out keywords (CTIA/FCC list plus common and Spanish/French equivalents). */
const STOP_KEYWORDS = [
  'stop', 'stopall', 'unsubscribe', 'unsub', 'cancel', 'end', 'quit', 'revoke', 'optout', 'remove',
  'halt', 'cease', 'enough', 'stahp', 'alto', 'parar', 'para', 'detener', 'cancelar', 'basta', 'arret', 'arreter',
];
/** Opt-out keywords strong enough to count beside other words in a short reply ("quit it", "cancel subscription"). */
const STRONG_STOP = new Set(['stop', 'stopall', 'unsubscribe', 'unsub', 'cancel', 'end', 'quit', 'revoke', 'optout', 'alto', 'cancelar']);
/** Refusals that opt out only when they are the whole reply ("No" opts out, "no problem" does not). */
const SOLE_REFUSALS = new Set(['no', 'nope', 'nah', 'na', 'n', 'nop']);
/** Keywords that must match exactly (a typo of them is a different common word: remove/remote, para/part). */
const EXACT_ONLY = new Set(['remove', 'para', 'end', 'halt', 'alto', 'arret']);

const START_KEYWORDS = ['start', 'unstop', 'yes', 'y', 'yeah', 'yep', 'yup', 'subscribe', 'resubscribe', 'resume', 'restart', 'optin', 'signup', 'si'];
const HELP_KEYWORDS = ['help', 'info', 'information', 'ayuda', 'support', 'aide'];
const MORE_KEYWORDS = ['more', 'moar', 'jobs', 'listings', 'openings', 'mas'];

/** Words that carry no intent in a short reply: "stop please", "ok thanks", "more pls". */
const FILLERS = new Set([
  'please', 'pls', 'plz', 'plez', 'plse', 'now', 'thanks', 'thank', 'you', 'u', 'thx', 'ty', 'tks', 'ok', 'okay', 'k', 'kk',
  'just', 'me', 'all', 'it', 'again', 'asap', 'immediately', 'right', 'away', 'sir', 'maam', 'oh', 'hi', 'hello', 'hey',
  'the', 'a', 'this', 'that', 'these', 'those', 'them', 'my', 'your', 'already', 'i', 'im', 'is', 'for', 'to', 'send', 'some',
]);

/** Things a person asks us to stop sending or doing. */
const MESSAGING = new Set([
  'text', 'texts', 'texting', 'texted', 'txt', 'txts', 'txting', 'sms', 'msg', 'msgs', 'message', 'messages', 'messaging',
  'contact', 'contacting', 'call', 'calls', 'calling', 'email', 'emails', 'emailing', 'send', 'sending', 'bother',
  'bothering', 'spam', 'spamming', 'alerts', 'alert', 'notifications', 'notification', 'subscription', 'list', 'number',
  'me', 'us', 'this', 'these', 'them', 'everything', 'service', 'it', 'program', 'jobs',
]);
const STOP_VERBS = new Set([
  'stop', 'cancel', 'end', 'quit', 'halt', 'cease', 'discontinue', 'terminate', 'remove', 'delete', 'erase', 'drop',
  'unenroll', 'unregister', 'deactivate', 'disable', 'block', 'unsubscribe', 'unsub',
]);
const NEGATORS = new Set(['dont', 'never', 'not', 'no', 'nor', 'doesnt', 'wont', 'stop']);
/** Messaging words a negation can point at (verbs and plural nouns; not pronouns, which say nothing alone). */
const NEGATED_MESSAGING = new Set([...MESSAGING].filter((w) => !['me', 'us', 'it', 'this', 'these', 'them', 'everything', 'jobs', 'list', 'number', 'service', 'program'].includes(w)));

const NO_PLUS = new Set([...NEGATED_MESSAGING].filter((w) => w.endsWith('s') || w.endsWith('ing') || w === 'spam' || w === 'sms'));
const WANTING = new Set(['want', 'need', 'like', 'wish', 'care']);
const OPT_IN_WORDS = new Set(['subscribe', 'subscribed', 'subscribing', 'signup', 'optin', 'enroll', 'enrolled', 'register', 'registered']);

/** Phrases that refuse or revoke consent wherever they appear. */
const REFUSAL_PATTERNS: RegExp[] = [
  /\btake (me|my \w+|this number|us)( \w+){0,3} off\b/,
  /\b(opt|opting|opted) (me )?out\b/,
  /\bno (more|longer)\b(?! than)/,
  /\b(leave (me|us) alone|go away|get lost|back off|buzz off|lose (my|this) (number|contact))\b/,
  /\bwrong (number|num|no|person|phone|guy|girl|contact)\b|^wrong$/,
  /\b(not|no longer) (interested|looking|intrested|intersted|searching)\b/,
  /\bno (thanks|thank you|thx|ty|interest)\b/,
  /\b(who gave you|how did you get) (my|this) (number|info)\b/,
  /\b(never|didnt|did not|dont remember|do not remember|not) (sign(ed)?( up)?|signup|subscribed?|opt(ed)? in|appl(y|ied)|ask(ed)?( for)?|agreed?|consent(ed)?|gave)\b/,
  /\b(spam|spammer|spamming|scam|scammer|harass(ing|ment)?|unsolicited|do not call|dnc|tcpa|attorney|lawyer|sue you|illegal)\b/,
  /\b(report(ed|ing)?|block(ed|ing)?) (you|u|this|your|the number|as spam)\b|\bblocked\b/,
  /\b(fuck|fck|fuk|fuc|fk|stfu|gtfo|wtf|piss off|screw you|go to hell|shut up|f off)\w*/,
];

/** Explicit requests to resume texts, even inside a longer reply. */
const START_PATTERNS: RegExp[] = [
  /\b(unstop|resubscribe|optin|opt (me )?(back )?in|sign me (back )?up|subscribe me)\b/,
  /\b(start|resume|restart) (texting|sending|messaging|texts|messages|alerts)\b/,
];
const MORE_PATTERNS: RegExp[] = [
  /\bmore\b(?! than)/,
  /\b(other|different|similar|new|additional|any|some|better|higher paying) (jobs?|listings?|openings?|positions?|options|opportunities|roles)\b/,
  /\bsend (me )?(jobs?|listings?|openings?|positions?)\b/,
];
// "info" inside a sentence is usually about the job ("info on the pay?"); only a short reply makes it HELP.
const HELP_PATTERNS: RegExp[] = [/\bhelp\b/];

/** Emoji that mean stop. */
const STOP_EMOJI = /[\u{1F6D1}\u{26D4}\u{1F6AB}\u{1F645}]/u;

// ---- classification ---------------------------------------------------------------------------

export function classifyReply(text: string): ReplyIntent {
  if (STOP_EMOJI.test(text)) return 'STOP';
  const norm = normalize(text);
  if (!norm) return 'OTHER';
  const tokens = norm.split(' ');

  if (saysStopAnywhere(norm, tokens)) return 'STOP';

  // "s t o p": a word spelled out letter by letter is read as the word.
  const spelled = tokens.length > 1 && tokens.every((t) => t.length === 1) ? [tokens.join('')] : null;
  const content = spelled ?? [...new Set(tokens.filter((t) => !FILLERS.has(t)))];
  if (content.length <= 3) {
    const short = classifyShort(content, tokens);
    if (short) return short;
  }

  if (START_PATTERNS.some((re) => re.test(norm))) return 'START';
  if (MORE_PATTERNS.some((re) => re.test(norm))) return 'MORE';
  if (HELP_PATTERNS.some((re) => re.test(norm))) return 'HELP';
  return 'OTHER';
}

/**
 * Lower-case words separated by single spaces: accents folded, apostrophes dropped ("don't" →
 * "dont"), hyphens and punctuation split words ("opt-out" → "opt out"), digits inside words read
 * as letters ("st0p"), emoji removed.
 */
export function normalize(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/['’‘`´]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .map((w) => (/\p{L}/u.test(w) && /\d/.test(w) ? w.replace(/0/g, 'o').replace(/1/g, 'i').replace(/3/g, 'e') : w))
    .join(' ');
}

/** Opt-out signals that count in a reply of any length. */
function saysStopAnywhere(norm: string, tokens: string[]): boolean {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    const next = tokens[i + 1];
    // "stop", "stopp", "STOPALL", "stoptexting", and adjacent-key swaps "stpo"/"sotp"; not "stop by".
    if (isStopShaped(t) && next !== 'by' && next !== 'in') return true;
    // "STOPALL", "ENDALL", "cancelall".
    if (t.endsWith('all') && STRONG_STOP.has(t.slice(0, -3))) return true;
    if (isUnsubscribeLike(t) || t === 'revoke' || t === 'revoked' || t === 'revoking' || t === 'optout') return true;
    // "cancel my subscription", "remove me from this list", "quit texting": a stop verb aimed at us within 3 words.
    if (STOP_VERBS.has(t) && tokens.slice(i + 1, i + 4).some((w) => MESSAGING.has(w))) return true;
    // "don't text me", "never message me again", "no texts", "dont want texts": a negation right before messaging.
    // After a bare "no" only a plural or -ing noun counts: "no texts" refuses, "no, call me" does not.
    const pointedAt = t === 'no' ? NO_PLUS : NEGATED_MESSAGING;
    if (NEGATORS.has(t) && tokens.slice(i + 1, i + 3).some((w) => pointedAt.has(w))) return true;
    // "I don't want to subscribe", "not signing up": a negated opt-in.
    if (NEGATORS.has(t) && tokens.slice(i + 1, i + 4).some((w) => OPT_IN_WORDS.has(w))) return true;
    // "I don't want these texts", "do not need any more messages": refusing to want them.
    if (NEGATORS.has(t) && WANTING.has(next ?? '') && tokens.slice(i + 2, i + 5).some((w) => NEGATED_MESSAGING.has(w))) return true;
  }
  return REFUSAL_PATTERNS.some((re) => re.test(norm));
}

function isStopShaped(t: string): boolean {
  if (/^s+t+o+p+(all|it|now|pls|please|plz|texting|txting|texts?|txts?|msgs?|messaging|sending|calling|contacting|emailing|ed|ping)?$/.test(t)) {
    // "stopped"/"stopping" describe, they do not ask ("I stopped by"); only the imperative counts.
    return !/^s+t+o+p+(ed|ping)$/.test(t);
  }
  return ['stpo', 'sotp', 'tsop', 'stopa', 'stoop'].includes(t);
}

function isUnsubscribeLike(t: string): boolean {
  if (t.startsWith('unsub')) return true;
  return t.length >= 8 && t.startsWith('u') && editDistance(t, 'unsubscribe', { max: 2 }) <= 2;
}

/** A short reply: its few content words decide; opt-out first, then MORE, HELP, START. */
function classifyShort(content: string[], tokens: string[]): ReplyIntent | null {
  if (content.length === 0) return null; // only fillers ("ok thanks"): OTHER unless a pattern says otherwise
  const single = content.length === 1;
  // "s t o p", "opt out", "un subscribe": words split apart.
  const joined = content.join('');

  if (single && SOLE_REFUSALS.has(joined)) return 'STOP';
  // A word that is exactly another intent's keyword ("subscribe", "resubscribe") is not a typo of an opt-out.
  const otherKeyword = (w: string): boolean =>
    [START_KEYWORDS, HELP_KEYWORDS, MORE_KEYWORDS].some((ks) => matchesKeyword(w, ks, 'exact'));
  const stopHit =
    content.some((w) => matchesKeyword(w, STOP_KEYWORDS, single && !otherKeyword(w) ? 'fuzzy' : 'strong')) ||
    matchesKeyword(joined, STOP_KEYWORDS, 'exact');
  if (stopHit) return 'STOP';

  if (content.some((w) => matchesKeyword(w, MORE_KEYWORDS, single ? 'fuzzy' : 'exact'))) return 'MORE';
  if (content.some((w) => matchesKeyword(w, HELP_KEYWORDS, single ? 'fuzzy' : 'exact'))) return 'HELP';
  // START only as the whole reply: "start" inside a sentence is usually about the job ("when can I start?").
  if ((single && matchesKeyword(joined, START_KEYWORDS, 'fuzzy')) || matchesKeyword(joined, START_KEYWORDS, 'exact')) {
    // "don't subscribe", "not yes": a negated opt-in is a refusal.
    return tokens.some((w) => NEGATORS.has(w)) ? 'STOP' : 'START';
  }
  return null;
}

type MatchMode = 'exact' | 'strong' | 'fuzzy';

/**
 * Exact match (also after squeezing repeats: "yesss", "helpp"), or for 'fuzzy' a typo within
 * the keyword's budget: none for ≤ 3 letters, 1 keyboard-aware edit for 4–5, 1 edit for 6,
 * 2 edits for 7+. 'strong' is exact against the strong opt-out keywords only.
 */
function matchesKeyword(word: string, keywords: readonly string[], mode: MatchMode): boolean {
  const sq = squeeze(word);
  for (const k of keywords) {
    if (mode === 'strong' && !STRONG_STOP.has(k)) continue;
    if (word === k || sq === squeeze(k)) return true;
    if (mode !== 'fuzzy' || EXACT_ONLY.has(k) || k.length <= 3 || word.length <= 2) continue;
    const budget = k.length <= 5 ? 1 : k.length === 6 ? 1 : 2;
    const keyboard = k.length <= 5;
    // Fuzzy on the word as typed only: squeezing first would also merge real double letters ("call" → "cal").
    if (editDistance(word, k, { keyboard, max: budget }) <= budget) return true;
  }
  return false;
}
