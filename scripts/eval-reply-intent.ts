/**
 * Measures classifyReply on a labelled TSV (text<TAB>intent, header row): accuracy overall and
 * on STOP rows, and every miss. Exits 1 below the targets (100% of STOP rows, 95% overall) so it
 * can gate CI. Usage: tsx scripts/eval-reply-intent.ts [file.tsv]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classifyReply, type ReplyIntent } from '../src/sinks/sms/reply-intent.js';

const DEFAULT_FILE = fileURLToPath(new URL('../../shared/data/sms-replies/dev.tsv', import.meta.url));
const file = process.argv[2] ?? DEFAULT_FILE;

const rows = readFileSync(file, 'utf8')
  .split(/\r?\n/)
  .slice(1)
  .filter((l) => l.trim() !== '')
  .map((l) => {
    const tab = l.lastIndexOf('\t');
    return { text: l.slice(0, tab), expected: l.slice(tab + 1).trim() as ReplyIntent };
  });

const misses: { text: string; expected: ReplyIntent; got: ReplyIntent }[] = [];
let stopRows = 0;
let stopHits = 0;
for (const r of rows) {
  const got = classifyReply(r.text);
  if (r.expected === 'STOP') {
    stopRows++;
    if (got === 'STOP') stopHits++;
  }
  if (got !== r.expected) misses.push({ ...r, got });
}

const pct = (a: number, b: number): string => (b === 0 ? 'n/a' : `${((100 * a) / b).toFixed(1)}%`);
const overall = rows.length - misses.length;
console.log(`file: ${file}`);
console.log(`overall:   ${overall}/${rows.length} = ${pct(overall, rows.length)}   (target ≥ 95%)`);
console.log(`STOP rows: ${stopHits}/${stopRows} = ${pct(stopHits, stopRows)}   (target 100%)`);
if (misses.length === 0) console.log('misses: none');
else {
  console.log(`misses (${misses.length}):`);
  for (const m of misses) console.log(`  expected ${m.expected.padEnd(5)} got ${m.got.padEnd(5)} ${JSON.stringify(m.text)}`);
}
const ok = stopHits === stopRows && overall >= 0.95 * rows.length;
process.exitCode = ok ? 0 : 1;
