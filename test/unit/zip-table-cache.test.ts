/** The ZIP table kept on disk between starts: the same table, read instead of built, never half a file. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cacheFile, cachedZipTable, deserialize, serialize, type ZipTable } from '../../src/lookup/zip-table-cache.js';
import { loadZipTable } from '../../src/lookup/zip-timezone.js';

const ZIP_SPACE = 100_000;
const builtBy = new URL('../../src/lookup/zip-timezone.ts', import.meta.url).href;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-cache-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const built = loadZipTable();

describe('the ZIP table cache', () => {
  it('reads back the very table it wrote', () => {
    const read = deserialize(serialize(built), ZIP_SPACE);
    assert.ok(read);
    assert.deepEqual(read, built);
  });

  it('builds once, then reads the file: a second start never builds', () => {
    let builds = 0;
    const first = cachedZipTable(() => (builds++, built), ZIP_SPACE, builtBy, dir);
    assert.equal(builds, 1);
    assert.ok(fs.existsSync(cacheFile(dir, builtBy)));
    const second = cachedZipTable(() => assert.fail('built although cached'), ZIP_SPACE, builtBy, dir);
    assert.deepEqual(second, first);
    assert.equal(second.zones[second.zoneOf[10001]!], 'America/New_York');
  });

  it('a cut-off or foreign file is built again and replaced, not trusted', () => {
    const file = cacheFile(dir, builtBy);
    const whole = fs.readFileSync(file, 'utf8');
    for (const bad of [whole.slice(0, whole.length / 2), JSON.stringify({ format: 1, zones: [] }), JSON.stringify({ ...JSON.parse(whole), cityOf: 'AAAA' })]) {
      fs.writeFileSync(file, bad);
      let builds = 0;
      const t: ZipTable = cachedZipTable(() => (builds++, built), ZIP_SPACE, builtBy, dir);
      assert.equal(builds, 1);
      assert.equal(t, built);
      assert.equal(fs.readFileSync(file, 'utf8'), whole);
    }
  });

  it('a change to the code that builds the table names another file', () => {
    const other = path.join(dir, 'builder-copy.ts');
    fs.writeFileSync(other, `${fs.readFileSync(new URL(builtBy))}\n// changed\n`);
    assert.notEqual(cacheFile(dir, new URL(`file://${other}`).href), cacheFile(dir, builtBy));
  });

  it('a directory it cannot write to still gives the table', () => {
    const notADir = path.join(dir, 'a-file');
    fs.writeFileSync(notADir, '');
    assert.equal(cachedZipTable(() => built, ZIP_SPACE, builtBy, notADir), built);
  });
});
