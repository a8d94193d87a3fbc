/**
 * Job title → one of our canonical titles (data/job-titles/canonical.tsv) with a confidence.
 *
 * Vendors send what the person typed or what the ad said ("FedEx Package Handler - Part Time -
 * Weekends", "CNA - Certified Nursing Assistant - Nights", "warehose associate"). Matching runs,
 * per segment of the title (see job-title-text.ts), from the most to the least certain:
 *
 *   1. exact      the segment, before and after removing noise and brands, is a canonical title or
 *                 an alias ("RN", "Security Guard", "Uber Driver").
 *   2. subset     every word of a canonical title or alias appears in the segment ("Sit Down Forklift
 *                 Driver" ⊇ "forklift driver"). Confidence grows with the share of the segment the
 *                 phrase explains. A phrase followed by a different occupation's head noun is
 *                 refused: "Nurse Manager" is not a nurse, "Manufacturing Engineer" not production.
 *   3. typo       words not in the vocabulary are corrected to a unique vocabulary word one edit away
 *                 (two for long words), plurals singularized, and 1–2 rerun, slightly discounted.
 *   4. fuzzy      fuse.js over the phrases that could still qualify (job-title-fuzzy.ts), strict
 *                 threshold, for what the token passes cannot split. At most MAX_FUZZY_SEGMENTS
 *                 segments per title get this pass: it is the expensive one, and junk titles
 *                 (unique, so never cached) would otherwise pay it for every fragment.
 *
 * Across segments the most confident match wins, specific phrases before generic ones ("Team
 * Member" loses to "Warehouse"), earlier segments on ties. Below `minScore` the answer is
 * `canonical: null`: spam ("Make $$$ from home") leaves no occupation words and gets no guess.
 * Results are cached per raw title, since the same ad titles arrive over and over.
 */
import { LRUCache } from 'lru-cache';
import type { JobTitleEnrichment } from '../../lead.js';
import { loadJobTitleData, STOPWORDS, type JobTitleData, type TitlePhrase } from './job-title-data.js';
import { createFuzzyPhraseIndex } from './job-title-fuzzy.js';
import { createTypoCorrector } from './job-title-typos.js';
import { segmentTitle } from './job-title-text.js';

export interface JobTitleNormalizerOptions {
  /** Below this confidence the title is reported unmatched. */
  minScore?: number;
  /** Distinct raw titles remembered. */
  cacheSize?: number;
  /** data/job-titles directory (defaults to the repository's). */
  dataDir?: string;
  /** Pre-loaded data, to share one load between normalizers. */
  data?: JobTitleData;
}

export interface JobTitleNormalizer {
  normalize(raw: string | null | undefined): JobTitleEnrichment;
}

interface Candidate {
  phrase: TitlePhrase;
  score: number;
  segment: number;
  /** Tie-breaks: more words matched, then words adjacent in the title. */
  size: number;
  contiguous: boolean;
}

const EXACT_SCORE = 1;
const GENERIC_EXACT_SCORE = 0.85;
const TYPO_FACTOR = 0.9;
const GENERIC_FACTOR = 0.9;
const MAX_TITLE_LENGTH = 200;
/** Real titles put the job in the first segments; the rest is brand, shift and pitch. */
const MAX_FUZZY_SEGMENTS = 4;

export function createJobTitleNormalizer(opts: JobTitleNormalizerOptions = {}): JobTitleNormalizer {
  const data = opts.data ?? loadJobTitleData(opts.dataDir);
  const minScore = opts.minScore ?? 0.6;
  const cache = new LRUCache<string, JobTitleEnrichment>({ max: opts.cacheSize ?? 20_000 });
  const fuzzy = createFuzzyPhraseIndex(data.phrases);
  const correct = createTypoCorrector(data.vocabulary, STOPWORDS);

  function exactCandidate(tokens: readonly string[], segment: number, factor: number): Candidate | null {
    if (tokens.length === 0) return null;
    const phrase = data.exact.get(tokens.join(' '));
    if (!phrase) return null;
    return { phrase, score: (phrase.generic ? GENERIC_EXACT_SCORE : EXACT_SCORE) * factor, segment, size: phrase.content.length, contiguous: true };
  }

  /** Phrases whose every content word occurs in `tokens`, scored by how much of the segment they explain. */
  function subsetCandidates(tokens: readonly string[], segment: number, factor: number, out: Candidate[]): void {
    const positions = new Map<string, number[]>();
    tokens.forEach((t, i) => {
      if (STOPWORDS.has(t)) return;
      const list = positions.get(t) ?? [];
      list.push(i);
      positions.set(t, list);
    });
    const contentCount = [...positions.values()].reduce((n, l) => n + l.length, 0);
    let lastContent = -1;
    tokens.forEach((t, i) => {
      if (!STOPWORDS.has(t)) lastContent = i;
    });
    const seen = new Set<TitlePhrase>();
    for (const token of positions.keys()) {
      for (const phrase of data.byToken.get(token) ?? []) {
        if (seen.has(phrase)) continue;
        seen.add(phrase);
        if (phrase.content.length === 0 || !phrase.content.every((t) => positions.has(t))) continue;
        const matched = phrase.content.map((t) => positions.get(t)![0]!);
        const last = Math.max(...matched);
        const first = Math.min(...matched);
        // A different occupation named after the phrase makes the phrase a modifier of it.
        let headAfter = false;
        for (let i = last + 1; i < tokens.length; i++) {
          const t = tokens[i]!;
          if (data.headNouns.has(t) && !phrase.content.includes(t)) {
            headAfter = true;
            break;
          }
        }
        if (headAfter) continue;
        // A generic phrase must be the head of the segment: "ICU Nurse" is a nurse, "Nurse
        // Practitioner" and "Sales Manager" are something else.
        if (phrase.generic && last < lastContent) continue;
        const coverage = phrase.content.length / Math.max(contentCount, phrase.content.length);
        const score = (0.5 + 0.4 * coverage) * (phrase.generic ? GENERIC_FACTOR : 1) * factor;
        out.push({ phrase, score, segment, size: phrase.content.length, contiguous: last - first + 1 === phrase.content.length });
      }
    }
  }

  /** Drops a trailing "in Dallas TX" / "at Acme": a connector followed by no occupation word. */
  function dropPlaceTail(tokens: string[]): string[] {
    for (let i = 1; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t !== 'in' && t !== 'at' && t !== 'near') continue;
      if (tokens.slice(i + 1).every((w) => !data.vocabulary.has(w))) return tokens.slice(0, i);
    }
    return tokens;
  }

  function candidatesFor(segment: readonly string[], index: number, budget: { fuzzy: number }): Candidate[] {
    const out: Candidate[] = [];
    const withoutNoise = data.noise.remove(segment);
    const clean = dropPlaceTail(data.brands.remove(withoutNoise));
    for (const tokens of [segment, withoutNoise, clean]) {
      const c = exactCandidate(tokens, index, 1);
      if (c) out.push(c);
    }
    if (out.some((c) => !c.phrase.generic)) return out;
    // Only a generic exact match ("team member"): something more specific in the segment may still win.
    subsetCandidates(clean, index, 1, out);
    if (out.length > 0) return out;

    const corrected: string[] = [];
    let changed = false;
    for (const t of clean) {
      const c = correct(t);
      if (c !== null && c !== t) changed = true;
      corrected.push(c ?? t);
    }
    if (changed) {
      const c = exactCandidate(corrected, index, TYPO_FACTOR);
      if (c) return [c];
      subsetCandidates(corrected, index, TYPO_FACTOR, out);
      if (out.length > 0) return out;
    }

    if (budget.fuzzy <= 0) return out;
    budget.fuzzy--;
    const hit = fuzzy.search(clean.filter((t) => !STOPWORDS.has(t)).join(' '));
    if (hit) out.push({ phrase: hit.phrase, score: hit.score, segment: index, size: hit.phrase.content.length, contiguous: true });
    return out;
  }

  function better(a: Candidate, b: Candidate): boolean {
    if (a.phrase.generic !== b.phrase.generic) return !a.phrase.generic;
    if (Math.abs(a.score - b.score) > 1e-9) return a.score > b.score;
    if (a.size !== b.size) return a.size > b.size;
    if (a.contiguous !== b.contiguous) return a.contiguous;
    return a.segment < b.segment;
  }

  function match(raw: string): JobTitleEnrichment {
    let best: Candidate | null = null;
    const budget = { fuzzy: MAX_FUZZY_SEGMENTS };
    segmentTitle(raw, data.expand).forEach((segment, i) => {
      for (const c of candidatesFor(segment, i, budget)) if (c.score >= minScore && (!best || better(c, best))) best = c;
    });
    const found = best as Candidate | null;
    if (!found) return { raw, canonical: null, category: null, score: null };
    return { raw, canonical: found.phrase.canonical, category: found.phrase.category, score: Math.round(found.score * 1000) / 1000 };
  }

  return {
    normalize(raw) {
      // Job titles are short; a pasted job description must not cost regex time or cache memory.
      const title = (raw ?? '').slice(0, MAX_TITLE_LENGTH);
      let result = cache.get(title);
      if (!result) {
        result = match(title);
        cache.set(title, result);
      }
      return result;
    },
  };
}
