/**
 * The fuzzy pass of the job-title matcher (step 4 in job-title.ts): fuse.js over every canonical
 * title and alias, for what the token passes could not split ("warehuose asociate").
 *
 * Fuse's bitap costs ~3–25 ms per query over all ~1,100 phrases, and junk titles (unique by
 * nature, so never cached) all end up here. So phrases that cannot be a fuse hit are filtered out
 * first, with a bound that follows from how fuse scores:
 *
 *   Fuse accepts a phrase when a chunk of the query (the query itself up to 32 characters, else
 *   32-character pieces of it) matches somewhere in the phrase with at most k edits, k being the
 *   largest number with k / chunk length ≤ threshold. Each insertion, deletion or substitution
 *   loses at most one of the chunk's characters, so the phrase must contain at least
 *   (chunk length − k) of the chunk's characters, counted with repeats.
 *
 * Counting shared characters is ~100× cheaper than bitap, and random junk shares too few with
 * any phrase: fuse then runs on nothing, or on a handful of phrases for a real typo. The
 * survivors keep their original order, so fuse ranks and breaks ties exactly as over the whole
 * list: the answer is the same as searching everything, only cheaper.
 */
import Fuse, { type IFuseOptions } from 'fuse.js';
import type { TitlePhrase } from './job-title-data.js';

export const FUSE_THRESHOLD = 0.2;
/** A fuzzy hit is worth at most this much of an exact match. */
const FUZZY_FACTOR = 0.85;
/** Fuse's bitap works on chunks of at most 32 characters (fuse.js BitapSearch). */
const FUSE_CHUNK = 32;
/** Shorter queries match anything by accident; longer ones are no job title (phrases are ≤ ~40). */
const MIN_QUERY = 4;
const MAX_QUERY = 60;

interface Entry {
  text: string;
  phrase: TitlePhrase;
  /** Character counts of `text`, indexed by char code (codes ≥ 127 share the last slot). */
  counts: Uint16Array;
}

export interface FuzzyHit {
  phrase: TitlePhrase;
  /** The matcher's confidence: fuse score discounted for fuzziness and length difference. */
  score: number;
}

export interface FuzzyPhraseIndex {
  /** The best phrase for `query` (4–60 characters, else nothing), or null. */
  search(query: string): FuzzyHit | null;
}

const FUSE_OPTIONS: IFuseOptions<Entry> = { keys: ['text'], includeScore: true, threshold: FUSE_THRESHOLD, ignoreLocation: true, minMatchCharLength: 3 };

export function createFuzzyPhraseIndex(phrases: readonly TitlePhrase[]): FuzzyPhraseIndex {
  const entries: Entry[] = phrases.map((phrase) => {
    const text = phrase.tokens.join(' ').toLowerCase();
    return { text, phrase, counts: countChars(text) };
  });
  return {
    search(raw) {
      const query = raw.toLowerCase();
      if (query.length < MIN_QUERY || query.length > MAX_QUERY) return null;
      const chunks = fuseChunks(query).map((chunk) => {
        const counts = countChars(chunk);
        return { counts, codes: distinctCodes(counts), need: chunk.length - maxEdits(chunk.length) };
      });
      const candidates = entries.filter((e) => chunks.some((c) => sharedChars(c.counts, e.counts, c.codes) >= c.need));
      if (candidates.length === 0) return null;
      const hit = new Fuse(candidates, FUSE_OPTIONS).search(query, { limit: 1 })[0];
      if (hit?.score === undefined || hit.score > FUSE_THRESHOLD) return null;
      // Fuse also finds a query inside a longer phrase ("call" in "call center") and a phrase
      // inside a longer query; discount by how much of the longer of the two went unmatched.
      const lengthRatio = Math.min(hit.item.text.length, query.length) / Math.max(hit.item.text.length, query.length);
      return { phrase: hit.item.phrase, score: (1 - hit.score) * FUZZY_FACTOR * lengthRatio };
    },
  };
}

/** The pieces fuse's BitapSearch cuts a pattern into: 32-character chunks, the last one ending at the end. */
function fuseChunks(pattern: string): string[] {
  if (pattern.length <= FUSE_CHUNK) return [pattern];
  const chunks: string[] = [];
  const whole = pattern.length - (pattern.length % FUSE_CHUNK);
  for (let i = 0; i < whole; i += FUSE_CHUNK) chunks.push(pattern.slice(i, i + FUSE_CHUNK));
  if (whole < pattern.length) chunks.push(pattern.slice(pattern.length - FUSE_CHUNK));
  return chunks;
}

/** The most edits fuse accepts for a query of length q: the largest e with e / q ≤ threshold, as fuse computes it. */
function maxEdits(q: number): number {
  let e = 0;
  while ((e + 1) / q <= FUSE_THRESHOLD) e++;
  return e;
}

/** Sharing a slot can only overcount what two strings share, so the filter stays permissive. */
function countChars(s: string): Uint16Array {
  const counts = new Uint16Array(128);
  for (let i = 0; i < s.length; i++) counts[Math.min(s.charCodeAt(i), 127)]!++;
  return counts;
}

function distinctCodes(counts: Uint16Array): number[] {
  const codes: number[] = [];
  counts.forEach((n, code) => {
    if (n > 0) codes.push(code);
  });
  return codes;
}

/** How many of the query's characters (with repeats) the phrase also has. */
function sharedChars(query: Uint16Array, phrase: Uint16Array, codes: readonly number[]): number {
  let shared = 0;
  for (const c of codes) shared += Math.min(query[c]!, phrase[c]!);
  return shared;
}
