import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadTerritoryZips, TERRITORY_ZONES, territoryByRange, territoryForZip } from '../../src/distribution/territories.js';
import { isKnownZone, offsetMinutes } from '../../src/distribution/zone-time.js';

describe('territoryForZip', () => {
  test('each territory: state, zone and city', () => {
    assert.deepEqual(territoryForZip('00901'), { state: 'PR', zone: 'America/Puerto_Rico', city: 'San Juan' });
    assert.deepEqual(territoryForZip('00802'), { state: 'VI', zone: 'America/St_Thomas', city: 'St Thomas' });
    assert.deepEqual(territoryForZip('00820'), { state: 'VI', zone: 'America/St_Thomas', city: 'Christiansted' });
    assert.deepEqual(territoryForZip('96910'), { state: 'GU', zone: 'Pacific/Guam', city: 'Hagatna' });
    assert.deepEqual(territoryForZip('96799'), { state: 'AS', zone: 'Pacific/Pago_Pago', city: 'Pago Pago' });
    assert.deepEqual(territoryForZip('96950'), { state: 'MP', zone: 'Pacific/Saipan', city: 'Saipan' });
  });

  test('ZIP+4 and spaces', () => {
    assert.equal(territoryForZip('00901-1234')?.state, 'PR');
    assert.equal(territoryForZip(' 009011234 ')?.state, 'PR');
  });

  test('a territory ZIP the table lacks still gets state and zone from the USPS range', () => {
    assert.deepEqual(territoryForZip('00699'), { state: 'PR', zone: 'America/Puerto_Rico', city: null });
    assert.deepEqual(territoryForZip('00899'), { state: 'VI', zone: 'America/St_Thomas', city: null });
    assert.deepEqual(territoryForZip('96930'), { state: 'GU', zone: 'Pacific/Guam', city: null });
  });

  test('not territories: states, the freely associated states, military, junk', () => {
    for (const zip of ['73301', '96813', '96798', '96939', '96941', '96960', '96970', '09002', '96201', '0090', 'ABCDE', '', '00901-12']) {
      assert.equal(territoryForZip(zip), null, zip);
    }
    assert.equal(territoryForZip(null), null);
  });

  test('zones are known to the runtime and have the offsets we expect (no DST)', () => {
    const expected = { PR: -240, VI: -240, GU: 600, AS: -660, MP: 600 };
    for (const [state, zone] of Object.entries(TERRITORY_ZONES)) {
      assert.ok(isKnownZone(zone), zone);
      for (const at of [Date.UTC(2026, 0, 15), Date.UTC(2026, 6, 15)]) assert.equal(offsetMinutes(at, zone), expected[state as keyof typeof expected], `${zone}`);
    }
  });
});

describe('the vendored table', () => {
  test('209 ZIPs, each inside its territory range (the loader checks it)', () => {
    const table = loadTerritoryZips();
    assert.equal(table.size, 209);
    const byState: Record<string, number> = {};
    for (const { state } of table.values()) byState[state] = (byState[state] ?? 0) + 1;
    assert.deepEqual(byState, { PR: 176, VI: 16, GU: 13, AS: 1, MP: 3 });
    assert.equal(territoryByRange(96799), 'AS');
  });

  test('a bad line is refused with file and line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'territories-'));
    const file = path.join(dir, 'zips.tsv');
    writeFileSync(file, '# comment\n00901\tPR\tSan Juan\n96910\tAS\tHagatna\n');
    assert.throws(() => loadTerritoryZips(file), /zips\.tsv:3: 96910 is not in the USPS range of AS/);
    writeFileSync(file, '00901\tPR\n');
    assert.throws(() => loadTerritoryZips(file), /zips\.tsv:1: expected/);
  });
});
