/**
 * What a buyer's reply means. Buyers answer in their own words ({"result":{"status":"OK"}},
 * "SUCCESS|lead_id=123", <response><status>Accepted</status></response>), so each buyer has a
 * response mapping: when the lead counts as accepted, when it is an explicit rejection, where
 * the buyer's own lead id, its reason and the price are.
 *
 * The verdict drives distribution: accepted → delivered (and counted against caps); rejected
 * → final for this buyer, the lead moves on to the next one now; retriable (5xx, 429, 408,
 * timeouts, a 2xx whose body we cannot read) → the same buyer again until the group's deadline.
 * A 2xx whose mapped field is present with another value ({"status":"rejected","reason":
 * "duplicate"}) is the buyer answering no: a rejection. A body without the field, or one that
 * does not parse, is malformed: retriable, because we do not know whether the buyer took it.
 *
 * Regexes come from config, so they run on RE2JS (a linear-time engine: no backtracking, no
 * backreferences or lookaheads, which are refused at load with the reason) and on at most the
 * first 64 KB of the body; a pattern like `.*accepted.*true` cannot stall a sink.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';
import { parsePrice } from './pricing.js';
import { getPath, parseJsonBody, parsePath, parseXmlBody, scalarText, type PathSegment } from './reply-paths.js';

/** Sinks read at most this much of a reply; the rest is not looked at. */
export const MAX_REPLY_CHARS = 65_536;

const pathSchema = z.string().superRefine((p, ctx) => {
  try {
    parsePath(p);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid path: ${(err as Error).message}` });
  }
});

const regexSchema = z.string().superRefine((p, ctx) => {
  try {
    RE2JS.compile(p);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regex (RE2 syntax, no backreferences or lookaround; (?i) for case-insensitive): ${(err as Error).message}` });
  }
});

const conditionSchema = z
  .strictObject({
    json: pathSchema.optional().describe('Path in a JSON reply, e.g. result.status or data.items[0].ok.'),
    xml: pathSchema.optional().describe('Path in an XML reply, e.g. response.status or response.lead.@status.'),
    regex: regexSchema.optional().describe('RE2 pattern searched in the reply body.'),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional().describe('With json/xml: the value that makes the condition hold (compared as text, ignoring case).'),
  })
  .superRefine((c, ctx) => {
    const kinds = (['json', 'xml', 'regex'] as const).filter((k) => c[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `a condition needs exactly one of json, xml, regex (has ${kinds.length ? kinds.join(', ') : 'none'})` });
    if ((c.json !== undefined || c.xml !== undefined) && c.equals === undefined) ctx.addIssue({ code: 'custom', path: ['equals'], message: 'json/xml conditions need `equals`' });
    if (c.regex !== undefined && c.equals !== undefined) ctx.addIssue({ code: 'custom', path: ['equals'], message: 'a regex condition holds when it matches; `equals` does not apply' });
  });

const extractorSchema = z
  .strictObject({
    json: pathSchema.optional().describe('Path in a JSON reply, e.g. data.items[0].id.'),
    xml: pathSchema.optional().describe('Path in an XML reply, e.g. response.lead.@id (an attribute) or response.id.'),
    regex: regexSchema.optional().describe('RE2 pattern; its first capture group is the value.'),
  })
  .superRefine((e, ctx) => {
    const kinds = (['json', 'xml', 'regex'] as const).filter((k) => e[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `needs exactly one of json, xml, regex (has ${kinds.length ? kinds.join(', ') : 'none'})` });
    if (e.regex !== undefined && kinds.length === 1) {
      try {
        if (RE2JS.compile(e.regex).groupCount() < 1) ctx.addIssue({ code: 'custom', path: ['regex'], message: 'needs a capture group: the value is what (...) matches' });
      } catch {
        // already reported by regexSchema
      }
    }
  })
  .describe('Where a value is in the reply: { json: path } | { xml: path } | { regex: pattern-with-(group) }.');

/** One condition or a list; a single one is read as a list of one (its errors say accepted.0...). */
const conditions = z.preprocess((v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v), z.array(conditionSchema).min(1));

export const responseMappingSchema = z
  .strictObject({
    accepted: conditions.describe('The lead is accepted when any of these holds on a 2xx reply.'),
    rejected: conditions.optional().describe('An explicit rejection when any holds: final, the lead moves on. Needed for regex-only mappings; json/xml ones also treat "field present, other value" as a rejection.'),
    reason: extractorSchema.optional().describe("The buyer's reason for a rejection (default: reason, message or error in a JSON reply)."),
    leadId: extractorSchema.optional().describe("The buyer's own id for the lead."),
    price: extractorSchema.optional().describe('The price the buyer states it paid; overrides the configured price.'),
  })
  .describe("How to read the buyer's reply.");

export type ResponseMapping = z.output<typeof responseMappingSchema>;
type Condition = z.output<typeof conditionSchema>;
type Extractor = z.output<typeof extractorSchema>;

/** Today's contract of the primary sink: {"accepted": true, "id": "..."} / {"accepted": false, "reason": "..."}. */
export const DEFAULT_RESPONSE_MAPPING: ResponseMapping = {
  accepted: [{ json: 'accepted', equals: true }],
  leadId: { json: 'id' },
  reason: { json: 'reason' },
};

export const pingSchema = z
  .strictObject({
    url: z.url().describe('Where the anonymised lead is pinged for a bid (auctions).'),
    timeoutMs: z.number().int().positive().default(300).describe('A bid later than this is ignored.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra headers for the ping, e.g. an API key.'),
    bid: extractorSchema.default({ json: 'bid' }).describe('Where the bid amount is in the ping reply.'),
  })
  .describe('Ping/post: ask for a bid before posting the full lead.');

export type Ping = z.output<typeof pingSchema>;

export type ReplyVerdict =
  | { accepted: true; buyerLeadId?: string; price?: number }
  | { accepted: false; reason: string; retriable: boolean };

type Doc = { ok: true; doc: unknown } | { ok: false; error: string } | null;

interface Reply {
  text: string;
  json: Doc;
  xml: Doc;
}

const compiledRegexes = new Map<string, RE2JS>();
function regex(pattern: string): RE2JS {
  let re = compiledRegexes.get(pattern);
  if (!re) {
    re = RE2JS.compile(pattern);
    if (compiledRegexes.size < 1000) compiledRegexes.set(pattern, re);
  }
  return re;
}

const parsedPaths = new Map<string, PathSegment[]>();
function path(p: string): PathSegment[] {
  let segs = parsedPaths.get(p);
  if (!segs) {
    segs = parsePath(p);
    if (parsedPaths.size < 1000) parsedPaths.set(p, segs);
  }
  return segs;
}

function lookup(reply: Reply, kind: 'json' | 'xml', p: string): { found: boolean; value: unknown } {
  const doc = kind === 'json' ? reply.json : reply.xml;
  return doc?.ok ? getPath(doc.doc, path(p)) : { found: false, value: undefined };
}

function holds(reply: Reply, c: Condition): boolean {
  if (c.regex !== undefined) return regex(c.regex).test(reply.text);
  const kind = c.json !== undefined ? 'json' : 'xml';
  const { found, value } = lookup(reply, kind, (c.json ?? c.xml)!);
  const text = found ? scalarText(value) : null;
  return text !== null && text.trim().toLowerCase() === String(c.equals).toLowerCase();
}

/** Whether a json/xml condition's field is in the reply at all (the buyer answered, just not yes). */
function answered(reply: Reply, c: Condition): string | null {
  if (c.regex !== undefined) return null;
  const p = (c.json ?? c.xml)!;
  const { found, value } = lookup(reply, c.json !== undefined ? 'json' : 'xml', p);
  return found ? `${p} is ${JSON.stringify(value)}` : null;
}

function extract(reply: Reply, e: Extractor | undefined): string | null {
  if (!e) return null;
  if (e.regex !== undefined) {
    const m = regex(e.regex).matcher(reply.text);
    return m.find() ? m.group(1) : null;
  }
  const { found, value } = lookup(reply, e.json !== undefined ? 'json' : 'xml', (e.json ?? e.xml)!);
  return found ? scalarText(value) : null;
}

/** A reason when the mapping names none: the usual fields of a JSON reply. */
function guessReason(reply: Reply): string | null {
  for (const key of ['reason', 'message', 'error']) {
    const v = lookup(reply, 'json', key);
    if (v.found && scalarText(v.value)) return scalarText(v.value);
  }
  return null;
}

const snippet = (text: string) => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
const clip = (s: string, n = 200) => (s.length > n ? s.slice(0, n) : s);

function readReply(mapping: ResponseMapping, body: string): Reply {
  const text = body.length > MAX_REPLY_CHARS ? body.slice(0, MAX_REPLY_CHARS) : body;
  const all = [...mapping.accepted, ...(mapping.rejected ?? []), mapping.reason, mapping.leadId, mapping.price];
  const usesXml = all.some((c) => c?.xml !== undefined);
  // JSON is also read for the default reason fields.
  return { text, json: parseJsonBody(text), xml: usesXml ? parseXmlBody(text) : null };
}

/** The verdict on a buyer's HTTP reply (status, Content-Type, body as text). */
export function interpretResponse(mapping: ResponseMapping | undefined, status: number, contentType: string | null, body: string): ReplyVerdict {
  const m = mapping ?? DEFAULT_RESPONSE_MAPPING;
  const reply = readReply(m, body);
  const reasonOf = () => clip(extract(reply, m.reason) ?? guessReason(reply) ?? snippet(reply.text));
  if (status === 429 || status === 408 || status >= 500) return { accepted: false, retriable: true, reason: `HTTP ${status}: ${reasonOf()}` };
  if (status < 200 || status >= 300) return { accepted: false, retriable: false, reason: `HTTP ${status}: ${reasonOf()}` };

  if (m.accepted.some((c) => holds(reply, c))) {
    const verdict: ReplyVerdict = { accepted: true };
    const id = extract(reply, m.leadId);
    if (id !== null && id.trim() !== '') verdict.buyerLeadId = clip(id.trim());
    const price = parsePrice(extract(reply, m.price));
    if (price !== null) verdict.price = price;
    return verdict;
  }
  const explicit = m.rejected?.some((c) => holds(reply, c)) ?? false;
  const said = m.accepted.map((c) => answered(reply, c)).find((a) => a !== null);
  if (explicit || said) {
    const why = extract(reply, m.reason) ?? guessReason(reply) ?? said ?? 'no reason given';
    return { accepted: false, retriable: false, reason: `rejected by buyer: ${clip(why)}` };
  }
  const truncated = body.length > MAX_REPLY_CHARS ? ` (first ${MAX_REPLY_CHARS} characters read)` : '';
  const unreadable = [reply.json, reply.xml].find((d) => d && !d.ok && m.accepted.some((c) => (d === reply.json ? c.json : c.xml) !== undefined));
  const why = unreadable && !unreadable.ok ? `not ${unreadable === reply.json ? 'JSON' : 'XML'}: ${unreadable.error}` : 'does not say accepted or rejected';
  return { accepted: false, retriable: true, reason: `HTTP ${status} ${contentType ?? 'no content-type'} reply ${why}${truncated}: ${snippet(reply.text)}` };
}

/** A request that got no reply: timeouts and connection errors are worth another try. */
export function interpretTransportError(kind: 'timeout' | 'network', detail: string): ReplyVerdict {
  return { accepted: false, retriable: true, reason: kind === 'timeout' ? `timeout: ${detail}` : `network: ${detail}` };
}

/** A ping reply: the bid, or why there is none. */
export function interpretBid(ping: Ping, status: number, body: string): { bid: number } | { noBid: string } {
  if (status < 200 || status >= 300) return { noBid: `HTTP ${status}` };
  const text = body.length > MAX_REPLY_CHARS ? body.slice(0, MAX_REPLY_CHARS) : body;
  const reply: Reply = { text, json: parseJsonBody(text), xml: ping.bid.xml !== undefined ? parseXmlBody(text) : null };
  const raw = extract(reply, ping.bid);
  const bid = parsePrice(raw);
  if (bid === null || bid <= 0) return { noBid: raw === null ? 'no bid in the reply' : `bid ${JSON.stringify(raw)} is not a positive amount` };
  return { bid };
}
