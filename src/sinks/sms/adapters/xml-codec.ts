/**
 * The XML provider's documents, written and read in one place so the adapter and the sandbox
 * provider cannot drift apart.
 *
 * Reading uses fast-xml-parser rather than regular expressions: the provider may add an XML
 * declaration, whitespace, CDATA sections, entities (&amp; in a message id) or extra elements,
 * and a truncated answer must be told apart from a complete one (XMLValidator does that). It is
 * dependency-light, typed, widely used (the AWS SDK reads XML with it) and caps DOCTYPE entity
 * expansion by default, which matters when parsing what a third party sends us.
 * Writing is a template plus escaping: a few fixed elements need no builder.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';

export interface XmlMessage {
  to: string;
  from: string;
  text: string;
  /** The idempotency key: the provider keeps it so the message can be looked up (it does not de-duplicate). */
  reference: string;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep every value a string: a message id like "00123" must not become the number 123.
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  // A lookup's list: one <message> must read as a list of one, like two read as a list of two.
  isArray: (_name, jpath) => jpath === 'response.messages.message',
});

/** Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/FFFF). */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(s: string): string {
  return s
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function buildMessageXml(m: XmlMessage): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<message><to>${escapeXml(m.to)}</to><from>${escapeXml(m.from)}</from>` +
    `<text>${escapeXml(m.text)}</text><reference>${escapeXml(m.reference)}</reference></message>`
  );
}

export type XmlResponse = { status: 'OK'; messageId: string } | { status: 'ERROR'; code: string; error: string };

export function buildResponseXml(r: XmlResponse): string {
  const inner =
    r.status === 'OK'
      ? `<status>OK</status><messageId>${escapeXml(r.messageId)}</messageId>`
      : `<status>ERROR</status><code>${escapeXml(r.code)}</code><error>${escapeXml(r.error)}</error>`;
  return `<?xml version="1.0" encoding="UTF-8"?><response>${inner}</response>`;
}

/** Parses a document and returns its root element's children, or null when it is not well-formed XML. */
function parseRoot(xml: string, root: string): Record<string, unknown> | null {
  if (XMLValidator.validate(xml) !== true) return null;
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const el = (doc as Record<string, unknown>)[root];
  // <message/> parses to "" – a root with no children.
  if (el === '') return {};
  return typeof el === 'object' && el !== null && !Array.isArray(el) ? (el as Record<string, unknown>) : null;
}

/** A text element: a string, or "" for <x/>. Repeated elements (arrays) do not validate. */
const text = z.string();

const messageSchema = z.object({
  to: text.optional(),
  from: text.optional(),
  text: text.optional(),
  reference: text.optional(),
});

/** Reads a <message> document; fields absent from it come back as "" so the caller reports them. */
export function parseMessageXml(xml: string): XmlMessage | null {
  const root = parseRoot(xml, 'message');
  if (!root) return null;
  const parsed = messageSchema.safeParse(root);
  if (!parsed.success) return null;
  const { to = '', from = '', text: body = '', reference = '' } = parsed.data;
  return { to, from, text: body, reference };
}

const okSchema = z.object({ status: z.literal('OK'), messageId: z.string().min(1) });
const errorSchema = z.object({ status: z.literal('ERROR'), code: text.optional(), error: text.optional() });

/** Reads a <response> document; null when it is not one of the two documented shapes. */
export function parseResponseXml(xml: string): XmlResponse | null {
  const root = parseRoot(xml, 'response');
  if (!root) return null;
  const ok = okSchema.safeParse(root);
  if (ok.success) return { status: 'OK', messageId: ok.data.messageId };
  const err = errorSchema.safeParse(root);
  if (err.success) return { status: 'ERROR', code: err.data.code ?? '', error: err.data.error ?? '' };
  return null;
}

/** One message in a lookup answer; `status` is optional (queued, sent, delivered, failed, undelivered). */
export interface XmlListedMessage {
  messageId: string;
  to: string;
  status?: string;
}

/** The lookup answer: <response><status>OK</status><messages><message>…</message>…</messages></response>. */
export function buildLookupXml(messages: XmlListedMessage[]): string {
  const items = messages
    .map((m) => `<message><messageId>${escapeXml(m.messageId)}</messageId><to>${escapeXml(m.to)}</to>${m.status ? `<status>${escapeXml(m.status)}</status>` : ''}</message>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><response><status>OK</status><messages>${items}</messages></response>`;
}

const listedSchema = z.object({ messageId: z.string().min(1), to: text.optional(), status: text.optional() });
const lookupSchema = z.object({
  status: z.literal('OK'),
  // <messages/> (none) parses to "".
  messages: z.union([z.literal(''), z.object({ message: z.array(listedSchema).optional() })]),
});

/** Reads a lookup answer; null when it is not one (an ERROR document, a cut-off body, no <messages>). */
export function parseLookupXml(xml: string): XmlListedMessage[] | null {
  const root = parseRoot(xml, 'response');
  if (!root) return null;
  const parsed = lookupSchema.safeParse(root);
  if (!parsed.success) return null;
  const list = parsed.data.messages === '' ? [] : (parsed.data.messages.message ?? []);
  return list.map((m) => ({ messageId: m.messageId, to: m.to ?? '', ...(m.status ? { status: m.status } : {}) }));
}
