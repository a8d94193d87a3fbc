/**
 * Typo correction for job-title tokens (step 3 in job-title.ts): a token not in the vocabulary is
 * corrected to the unique vocabulary word one edit away (two for words of 9+ letters), or
 * singularized ("drivers" → "driver"). Ambiguous or distant tokens stay uncorrected.
 *
 * Junk titles bring tokens never seen before, each compared with every vocabulary word of a
 * similar length. A letter-count filter skips the words that cannot be within the allowed edits
 * before the (allocating) edit-distance call: an insertion or deletion changes the letter counts
 * by 1, a substitution by 2, a transposition by 0, so words `max` edits apart differ by at most
 * 2 × max in their counts. The filter never skips a word that could be the answer, so the
 * corrections are exactly those of comparing with every word.
 */
import { LRUCache } from 'lru-cache';
import { editDistance } from './edit-distance.js';

/** Tokens are lower-case ASCII letters and digits; anything else shares the last slot. */
const SLOTS = 37;

interface Word {
  text: string;
  counts: Uint8Array;
}

export type TypoCorrector = (token: string) => string | null;

export function createTypoCorrector(vocabulary: ReadonlySet<string>, stopwords: ReadonlySet<string>): TypoCorrector {
  const byLength = new Map<number, Word[]>();
  for (const text of vocabulary) {
    const list = byLength.get(text.length) ?? [];
    list.push({ text, counts: letterCounts(text) });
    byLength.set(text.length, list);
  }
  // Unknown tokens are unbounded (names, places, garbage): remember corrections in a bounded cache.
  const corrections = new LRUCache<string, { to: string | null }>({ max: 50_000 });

  /** The vocabulary word a token most likely meant, the token itself when known, or null. */
  return function correct(token) {
    if (vocabulary.has(token) || stopwords.has(token)) return token;
    const cached = corrections.get(token);
    if (cached !== undefined) return cached.to;
    let answer: string | null = null;
    if (token.length > 3 && token.endsWith('s') && vocabulary.has(token.slice(0, -1))) answer = token.slice(0, -1);
    else if (token.length >= 5 && token.length <= 24) {
      const max = token.length >= 9 ? 2 : 1;
      const counts = letterCounts(token);
      let best = max + 1;
      let bestWord: string | null = null;
      let tie = false;
      for (let len = token.length - max; len <= token.length + max; len++) {
        for (const word of byLength.get(len) ?? []) {
          // Skipped words are more than `max` edits away: they could only ever tie at max + 1,
          // which a real answer (≤ max) always beats, so skipping them changes nothing.
          if (countDistance(counts, word.counts, 2 * max) > 2 * max) continue;
          const d = editDistance(token, word.text, max);
          if (d < best) {
            best = d;
            bestWord = word.text;
            tie = false;
          } else if (d === best) tie = true;
        }
      }
      if (bestWord !== null && !tie && best <= max) answer = bestWord;
    }
    corrections.set(token, { to: answer });
    return answer;
  };
}

function letterCounts(s: string): Uint8Array {
  const counts = new Uint8Array(SLOTS);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const slot = c >= 97 && c <= 122 ? c - 97 : c >= 48 && c <= 57 ? 26 + c - 48 : SLOTS - 1;
    counts[slot]!++;
  }
  return counts;
}

/** Sum of count differences, stopping once it exceeds `limit`. */
function countDistance(a: Uint8Array, b: Uint8Array, limit: number): number {
  let d = 0;
  for (let i = 0; i < SLOTS && d <= limit; i++) d += Math.abs(a[i]! - b[i]!);
  return d;
}
