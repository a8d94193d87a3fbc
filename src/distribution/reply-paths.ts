/**
 * Reading a field out of a buyer's reply by a small path: `result.status`, `data.items[0].id`,
 * `[0].ok`, and for XML `response.lead.@id` (an attribute) or `response.status`. Parsed into
 * segments once at config load, walked over own properties only: no eval, no JSONPath engine,
 * nothing a config author could use to reach `__proto__`.
 *
 * XML goes through fast-xml-parser (already used by the XML SMS adapter) with every value kept as
 * a string ("00123" stays "00123"), attributes under "@name", and XMLValidator first so that a
 * truncated or broken document is reported as malformed instead of half-read.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type PathSegment = string | number;

const SEGMENT = /^([^.[\]]*)((?:\[\d+\])*)$/;

/** "data.items[0].id" → ["data", "items", 0, "id"]; throws with a readable message when invalid. */
export function parsePath(path: string): PathSegment[] {
  const trimmed = path.trim();
  if (trimmed === '') throw new Error('empty path');
  if (trimmed.length > 200) throw new Error('path longer than 200 characters');
  const out: PathSegment[] = [];
  for (const [i, part] of trimmed.split('.').entries()) {
    const m = SEGMENT.exec(part);
    if (!m) throw new Error(`bad segment "${part}" in "${path}" (use name, name[0], or [0])`);
    const name = m[1]!;
    const indexes = m[2]!;
    if (name === '' && (indexes === '' || i > 0)) throw new Error(`empty segment in "${path}"`);
    if (name === '__proto__' || name === 'constructor' || name === 'prototype') throw new Error(`"${name}" is not allowed in a path`);
    if (name !== '') out.push(name);
    for (const idx of indexes.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** Whether the path was found, and its value. An element with attributes yields its text. */
export function getPath(doc: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const seg of path) {
    // XML repeats an element as a list; a name after a list reads its first element.
    if (Array.isArray(cur) && typeof seg === 'string') cur = cur[0];
    if (typeof seg === 'number') {
      if (!Array.isArray(cur)) {
        if (seg === 0 && cur !== undefined && cur !== null && typeof cur === 'object') continue; // one XML element read as [0]
        return { found: false, value: undefined };
      }
      if (seg >= cur.length) return { found: false, value: undefined };
      cur = cur[seg];
      continue;
    }
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return { found: false, value: undefined };
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.hasOwn(cur, '#text')) cur = (cur as Record<string, unknown>)['#text'];
  return { found: true, value: cur };
}

/** A primitive as text, for comparisons and ids; objects and lists are not values. */
export function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

export function parseJsonBody(body: string): { ok: true; doc: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, doc: JSON.parse(body) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  removeNSPrefix: true,
});

export function parseXmlBody(body: string): { ok: true; doc: unknown } | { ok: false; error: string } {
  if (!body.trimStart().startsWith('<')) return { ok: false, error: 'not XML' };
  const valid = XMLValidator.validate(body);
  if (valid !== true) return { ok: false, error: `${valid.err.msg} (line ${valid.err.line})` };
  try {
    return { ok: true, doc: xmlParser.parse(body) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
