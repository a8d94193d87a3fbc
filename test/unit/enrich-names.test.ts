/** Names: trimmed, collapsed, title-cased without mangling surnames or a person's own casing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeNames, normalizePersonName } from '../../src/processors/enrich/names.js';

describe('name normalization', () => {
  const cases: Array<[string, string]> = [
    ['  mary   jane  ', 'Mary Jane'],
    ['JOHN', 'John'],
    ["o'brien", "O'Brien"],
    ["O'BRIEN", "O'Brien"],
    ["d'angelo", "D'Angelo"],
    ['mcdonald', 'McDonald'],
    ['MCDONALD', 'McDonald'],
    ['macarthur', 'MacArthur'],
    ['macias', 'Macias'],
    ['mack', 'Mack'],
    ['smith-jones', 'Smith-Jones'],
    ['SMITH-JONES', 'Smith-Jones'],
    ['de la cruz', 'de la Cruz'],
    ['DE LA CRUZ', 'de la Cruz'],
    ['maria de la cruz', 'Maria de la Cruz'],
    ['ludwig van beethoven', 'Ludwig van Beethoven'],
    ['le', 'Le'],
    ['robert smith jr', 'Robert Smith Jr'],
    ['henry ford iii', 'Henry Ford III'],
    ['josé', 'José'],
    ['ÉMILIE', 'Émilie'],
    ['jean-luc', 'Jean-Luc'],
  ];
  for (const [raw, expected] of cases) {
    it(`${JSON.stringify(raw)} → ${JSON.stringify(expected)}`, () => assert.equal(normalizePersonName(raw), expected));
  }

  it('leaves a name the person already cased alone', () => {
    for (const name of ['McDonald', 'DeShawn', 'van der Berg', 'LaToya', 'de la Cruz', 'MacKenzie', 'Mackenzie']) {
      assert.equal(normalizePersonName(name), name);
    }
  });

  it('normalizes first and last together and survives missing values', () => {
    assert.deepEqual(normalizeNames(' jane ', "O'NEIL"), { first: 'Jane', last: "O'Neil" });
    assert.deepEqual(normalizeNames(undefined, null), { first: '', last: '' });
  });
});
