/**
 * A role process loads only its own stages' code: the stage registry imports each kind's starter
 * when a stage of that kind starts. Every role used to load enrich's libraries (time zones,
 * polygons, e-mail domains) and route's, about 0.4 s of CPU at each start on an idle machine,
 * seconds on a saturated one, while a restarted process's partitions wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/** The packages a fresh Node process has loaded after importing `modules` (CommonJS cache). */
function packagesAfterImporting(modules: string[]): string[] {
  const script = `
    import { createRequire } from 'node:module';
    ${modules.map((m, i) => `await import(${JSON.stringify(m)}); void ${i};`).join('\n')}
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify([...new Set(cache.filter((k) => k.includes('node_modules/')).map((k) => k.split('node_modules/').pop().split('/')[0]))]));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as string[];
}

test('starting roles loads no stage code until a stage of its kind starts: no enrich libraries in a deliver process', () => {
  const loaded = packagesAfterImporting(['./src/roles.ts']);
  assert.ok(loaded.includes('kafkajs'), `the check sees CommonJS packages (${loaded.join(', ')})`);
  for (const pkg of ['geo-tz', 'disposable-email-domains-js', 'geobuf']) assert.ok(!loaded.includes(pkg), `${pkg} loaded by roles.ts alone`);
});
