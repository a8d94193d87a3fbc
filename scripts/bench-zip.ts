/**
 * ZIP → timezone benchmark: lookups per second in one process and what the table costs in memory.
 *   npx tsx scripts/bench-zip.ts [--seconds 3]
 * Run with --expose-gc (node --expose-gc --import tsx scripts/bench-zip.ts) for steadier memory numbers.
 */
import { createZipTimezoneLookup, type TimezoneLookupInput } from '../src/lookup/zip-timezone.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { heapUsed: number; rss: number } {
  gc?.();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

const before = memory();
const t0 = performance.now();
const tz = createZipTimezoneLookup();
const loadMs = performance.now() - t0;
const after = memory();

// A realistic mix: mostly known 5-digit ZIPs, some ZIP+4, some UK postcodes, a little garbage.
const inputs: TimezoneLookupInput[] = [];
const known = ['10001', '85001', '96813', '60601', '30301', '75201', '94105', '98101', '33101', '02134', '46204', '80202', '97201', '48201', '70112', '37203'];
for (let i = 0; i < 4096; i++) {
  const r = i % 16;
  if (r < 11) inputs.push({ country: 'US', zip: String((i * 7919) % 100_000).padStart(5, '0') });
  else if (r < 13) inputs.push({ country: 'US', zip: `${known[i % known.length]}-${String(i % 10_000).padStart(4, '0')}` });
  else if (r < 15) inputs.push({ country: 'GB', postcode: ['SW1A 1AA', 'M1 1AE', 'EH1 1YZ', 'BT1 5GS'][i % 4] });
  else inputs.push({ country: 'US', zip: ['abc', '1234', '', '12345-67'][i % 4] });
}

// Warm up (JIT + per-zone offset cache), then measure in rounds so a clock read is not per lookup.
const now = new Date();
let found = 0;
for (let i = 0; i < 200_000; i++) if (tz.lookup(inputs[i & 4095]!, now).zone) found++;

let count = 0;
const start = performance.now();
const deadline = start + seconds * 1000;
while (performance.now() < deadline) {
  for (let i = 0; i < 100_000; i++) if (tz.lookup(inputs[i & 4095]!, now).zone) found++;
  count += 100_000;
}
const elapsed = (performance.now() - start) / 1000;
const perSec = count / elapsed;

const rows: Array<[string, string]> = [
  ['ZIPs in table', String(tz.zipCount)],
  ['load time', `${loadMs.toFixed(0)} ms`],
  ['heapUsed before / after load', `${mb(before.heapUsed)} / ${mb(after.heapUsed)} (+${mb(after.heapUsed - before.heapUsed)})`],
  ['rss before / after load', `${mb(before.rss)} / ${mb(after.rss)} (+${mb(after.rss - before.rss)})`],
  ['lookups', String(count)],
  ['lookups/s', `${Math.round(perSec).toLocaleString('en-US')}${perSec >= 1_000_000 ? '  (target ≥ 1,000,000 ✓)' : '  (target ≥ 1,000,000 ✗)'}`],
  ['ns/lookup', (1e9 / perSec).toFixed(0)],
];
const width = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
if (found === 0) console.log('(no lookup found a zone: the table did not load)');
