/**
 * The job-title reference data (data/job-titles/) loaded into the lookup structures the matcher
 * needs: every canonical title and alias as a token list, an exact-phrase map, an inverted index
 * token → phrases for the token-subset pass, the vocabulary for typo correction, and the noise
 * and brand phrase sets.
 *
 *   canonical.tsv       title, category                       (the closed set we normalize to)
 *   aliases.tsv         alias, canonical title, [generic]     (abbreviations and synonyms)
 *   abbreviations.tsv   token, expansion                      (tech → technician, rep → representative)
 *   noise-phrases.txt   shift labels, employment types, slogans, levels
 *   noise-brands.txt    big employers and brands
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhraseSet, segmentTitle } from './job-title-text.js';

/** The repository's data/job-titles, found from this file (src/… or dist/…, both three levels down). */
export const DEFAULT_JOB_TITLE_DATA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../data/job-titles');

/** Connective words: kept for exact phrase matching, ignored when counting what a match left over. */
export const STOPWORDS: ReadonlySet<string> = new Set(['a', 'an', 'the', 'at', 'in', 'for', 'with', 'near', 'of', 'and', 'or', 'to', 'from', 'on', 'by', 'our', 'your', 'we', 'you', 'is', 'are', 'needed']);

/**
 * Heads that name a rank or a kind of contract rather than an occupation: a title ending in one of
 * them ("Warehouse Team Member") is still about the words before it.
 */
const GENERIC_HEADS = ['associate', 'member', 'worker', 'staff', 'attendant', 'professional', 'helper', 'crew', 'team', 'person', 'employee', 'apprentice', 'trainee', 'lead'];

export interface TitlePhrase {
  /** Tokens after normalization (abbreviations expanded). */
  tokens: string[];
  /** The same tokens without stopwords: what the subset pass must find in a title. */
  content: string[];
  canonical: string;
  category: string;
  /** A rank-like phrase ("Team Member") that only wins when nothing more specific matches. */
  generic: boolean;
  /** The canonical title itself rather than an alias. */
  isCanonical: boolean;
}

export interface JobTitleData {
  phrases: TitlePhrase[];
  /** Joined tokens → phrase (canonical rows win over aliases when both normalize the same). */
  exact: Map<string, TitlePhrase>;
  /** Content token → phrases that contain it. */
  byToken: Map<string, TitlePhrase[]>;
  /** Every content token of every phrase: the words a typo can be corrected to. */
  vocabulary: Set<string>;
  /** Last tokens of canonical titles that name an occupation ("nurse", "manager", "driver"). */
  headNouns: Set<string>;
  noise: PhraseSet;
  brands: PhraseSet;
  categories: Map<string, string>;
  expand(token: string): readonly string[];
}

function readLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

/** Words of a data phrase, tokenized exactly like a title so both sides meet in the same form. */
function phraseTokens(text: string, expand: (t: string) => readonly string[]): string[] {
  return segmentTitle(text, expand).flat();
}

export function loadJobTitleData(dir: string = DEFAULT_JOB_TITLE_DATA_DIR): JobTitleData {
  const abbreviations = new Map<string, string[]>();
  for (const line of readLines(path.join(dir, 'abbreviations.tsv'))) {
    const [token, expansion] = line.split('\t');
    if (token && expansion) abbreviations.set(token.trim().toLowerCase(), expansion.trim().toLowerCase().split(/\s+/));
  }
  const expand = (token: string): readonly string[] => abbreviations.get(token) ?? [token];

  const categories = new Map<string, string>();
  const canonicalLines = readLines(path.join(dir, 'canonical.tsv'));
  for (const line of canonicalLines.slice(1)) {
    const [title, category] = line.split('\t');
    if (title && category) categories.set(title.trim(), category.trim());
  }

  const phrases: TitlePhrase[] = [];
  const add = (text: string, canonical: string, generic: boolean, isCanonical: boolean): void => {
    const category = categories.get(canonical);
    if (category === undefined) throw new Error(`job titles: "${text}" points to unknown canonical title "${canonical}"`);
    const tokens = phraseTokens(text, expand);
    if (tokens.length === 0) return;
    phrases.push({ tokens, content: tokens.filter((t) => !STOPWORDS.has(t)), canonical, category, generic, isCanonical });
  };
  for (const title of categories.keys()) add(title, title, false, true);

  const genericCanonicals = new Set<string>();
  for (const line of readLines(path.join(dir, 'aliases.tsv'))) {
    const [alias, canonical, flags] = line.split('\t').map((f) => f.trim());
    if (!alias || !canonical) continue;
    const generic = flags === 'generic';
    // An alias row naming the canonical title itself only sets flags on it.
    if (alias.toLowerCase() === canonical.toLowerCase()) {
      if (generic) genericCanonicals.add(canonical);
      continue;
    }
    add(alias, canonical, generic, false);
  }
  for (const p of phrases) if (p.isCanonical && genericCanonicals.has(p.canonical)) p.generic = true;

  const exact = new Map<string, TitlePhrase>();
  const byToken = new Map<string, TitlePhrase[]>();
  const vocabulary = new Set<string>();
  for (const p of phrases) {
    const key = p.tokens.join(' ');
    const existing = exact.get(key);
    if (!existing || (p.isCanonical && !existing.isCanonical)) exact.set(key, p);
    for (const t of new Set(p.content)) {
      vocabulary.add(t);
      const list = byToken.get(t) ?? [];
      list.push(p);
      byToken.set(t, list);
    }
  }

  const generic = new Set(GENERIC_HEADS);
  const headNouns = new Set<string>();
  for (const p of phrases) {
    const head = p.content[p.content.length - 1];
    if (p.isCanonical && !p.generic && head && !generic.has(head)) headNouns.add(head);
  }

  const noise = new PhraseSet();
  for (const line of readLines(path.join(dir, 'noise-phrases.txt'))) noise.add(phraseTokens(line, expand));
  const brands = new PhraseSet();
  for (const line of readLines(path.join(dir, 'noise-brands.txt'))) brands.add(phraseTokens(line, expand));

  return { phrases, exact, byToken, vocabulary, headNouns, noise, brands, categories, expand };
}
