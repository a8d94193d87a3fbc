/**
 * Exact-match accuracy of the job-title normalizer on a labelled TSV (raw, expected; "-" = no match).
 *   npx tsx scripts/eval-job-titles.ts [file.tsv]   (default /work/shared/data/job-titles/dev.tsv)
 * Prints every miss with the score, then the accuracy. Exits 0 either way: it measures, it does not gate.
 */
import { readFileSync } from 'node:fs';
import { createJobTitleNormalizer } from '../src/processors/enrich/job-title.js';

const file = process.argv[2] ?? '/work/shared/data/job-titles/dev.tsv';
const rows = readFileSync(file, 'utf8')
  .split(/\r?\n/)
  .slice(1)
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const [raw = '', expected = ''] = l.split('\t');
    return { raw, expected: expected.trim() === '-' ? null : expected.trim() };
  });

const normalizer = createJobTitleNormalizer();
let correct = 0;
const misses: string[] = [];
for (const { raw, expected } of rows) {
  const got = normalizer.normalize(raw);
  if (got.canonical === expected) correct++;
  else misses.push(`  ${JSON.stringify(raw)}\n      expected ${expected ?? '-'}, got ${got.canonical ?? '-'} (score ${got.score ?? '-'})`);
}

console.log(`file: ${file}`);
if (misses.length > 0) console.log(`misses (${misses.length}):\n${misses.join('\n')}`);
console.log(`exact-match accuracy: ${correct}/${rows.length} = ${((100 * correct) / rows.length).toFixed(1)}%`);
