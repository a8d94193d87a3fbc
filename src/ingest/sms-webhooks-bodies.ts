/**
 * Reading an SMS webhook's body once its signature has passed (sms-webhooks-auth.ts): the fields
 * of an inbound reply or a delivery receipt in each provider's wire format, the provider's status
 * in our vocabulary, and the replier's number in E.164. A 400 names the field as the provider
 * spells it, so whoever reads it knows what they sent.
 *
 * Wire formats, per provider kind (src/sinks/sms/adapters):
 *  - twilio: form-encoded, as Twilio posts them. Inbound From/To/Body/MessageSid; receipts
 *    MessageSid/MessageStatus/ErrorCode (what sandbox/sms-providers.ts posts to StatusCallback).
 *  - json: `{from, to, text, id}` inbound, `{id, status, errorCode?}` receipts; the same field
 *    names as the JSON adapter's outbound `{to, from, text}` and its answer `{id, status}`.
 *  - xml: the XML adapter's vocabulary (xml-codec.ts: <to>/<from>/<text>, text-only children,
 *    string values) under roots that cannot be mistaken for an outbound <message>:
 *      <inbound><from>+14155550123</from><to>+15005550006</to><text>STOP</text><id>X1</id></inbound>
 *      <receipt><id>X1</id><status>delivered</status><errorCode>30003</errorCode></receipt>
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { DeliveryStatus, SmsProviderWebhookConfig } from './sms-webhooks-contract.js';
import { invalid, missing, WebhookError } from './sms-webhooks-errors.js';

/** Every provider status we understand, mapped to ours (Twilio's vocabulary plus our own five). A Map: "constructor" is not a status. */
export const STATUS_MAP: ReadonlyMap<string, DeliveryStatus> = new Map([
  ['queued', 'queued'],
  ['accepted', 'queued'],
  ['scheduled', 'queued'],
  ['sending', 'sent'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'delivered'],
  ['failed', 'failed'],
  ['undelivered', 'undelivered'],
]);

interface InboundFields {
  from: string;
  to: string | null;
  text: string;
  id: string | null;
}

interface ReceiptFields {
  id: string;
  status: string;
  /** The field name to blame for an unknown status, as the provider spells it. */
  statusField: string;
  errorCode: string | null;
}

/** Field reader over one provider format; the names are the provider's own, so a 400 names what it sent. */
interface FieldSource {
  /** undefined when absent; throws invalid() when present but not text. */
  get(name: string): string | undefined;
}

function fieldsOf(kind: SmsProviderWebhookConfig['kind'], raw: string, xmlRoot: string): FieldSource {
  if (kind === 'twilio') {
    const form = new URLSearchParams(raw);
    return { get: (n) => form.get(n) ?? undefined };
  }
  const obj = kind === 'json' ? parseJsonObject(raw) : parseXmlRoot(raw, xmlRoot);
  return {
    get(n) {
      const v = Object.hasOwn(obj, n) ? obj[n] : undefined;
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      // A JSON provider may send numeric ids and error codes.
      if (kind === 'json' && typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw invalid(n, kind === 'xml' ? 'must be a single text element' : 'must be a string');
    },
  };
}

const required = (src: FieldSource, name: string, opts: { allowEmpty?: boolean } = {}): string => {
  const v = src.get(name);
  if (v === undefined || (!opts.allowEmpty && v.trim() === '')) throw missing(name);
  return v;
};
const optional = (src: FieldSource, name: string): string | null => {
  const v = src.get(name)?.trim();
  return v ? v : null;
};

/** Field names per format: Twilio's own, and the json/xml providers' (see the header comment). */
const INBOUND_FIELDS = {
  twilio: { from: 'From', to: 'To', text: 'Body', id: 'MessageSid' },
  generic: { from: 'from', to: 'to', text: 'text', id: 'id' },
} as const;
const RECEIPT_FIELDS = {
  twilio: { id: 'MessageSid', status: 'MessageStatus', errorCode: 'ErrorCode' },
  generic: { id: 'id', status: 'status', errorCode: 'errorCode' },
} as const;

export function readInbound(kind: SmsProviderWebhookConfig['kind'], raw: string): InboundFields {
  const src = fieldsOf(kind, raw, 'inbound');
  const f = INBOUND_FIELDS[kind === 'twilio' ? 'twilio' : 'generic'];
  // The text may be empty (a picture-only message) but must be there; from is who opts in or out.
  return { from: required(src, f.from), to: optional(src, f.to), text: required(src, f.text, { allowEmpty: true }), id: optional(src, f.id) };
}

export function readReceipt(kind: SmsProviderWebhookConfig['kind'], raw: string): ReceiptFields {
  const src = fieldsOf(kind, raw, 'receipt');
  const f = RECEIPT_FIELDS[kind === 'twilio' ? 'twilio' : 'generic'];
  return { id: required(src, f.id).trim(), status: required(src, f.status), statusField: f.status, errorCode: optional(src, f.errorCode) };
}

function parseJsonObject(raw: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new WebhookError(400, 'invalid_json', `body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, '(body)');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WebhookError(400, 'invalid_json', 'body must be a JSON object', '(body)');
  return v as Record<string, unknown>;
}

// Same options as the adapter's codec (xml-codec.ts): values stay strings ("00123" is not 123).
const xmlParser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, trimValues: true, processEntities: true });

function parseXmlRoot(raw: string, root: string): Record<string, unknown> {
  const notDoc = new WebhookError(400, 'invalid_xml', `body is not an <${root}> document`, '(body)');
  if (XMLValidator.validate(raw) !== true) throw notDoc;
  let doc: unknown;
  try {
    doc = xmlParser.parse(raw);
  } catch {
    throw notDoc;
  }
  const el = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[root] : undefined;
  if (el === '') return {}; // <inbound/>: no children, each field then reported missing
  if (typeof el !== 'object' || el === null || Array.isArray(el)) throw notDoc;
  return el as Record<string, unknown>;
}

/**
 * The replier's number in E.164. Only a *possible* number is required, not a valid one: metadata
 * lags new number ranges, and refusing a STOP over that is the costly mistake. A number without
 * + is read in the provider's country, then as international digits ("447700900123", as many
 * providers send MSISDNs); a reading that is valid beats one that is merely possible.
 */
export function toE164(raw: string, defaultCountry: CountryCode | undefined, field: string): string {
  const s = raw.trim().replace(/^tel:/i, '');
  const candidates = s.startsWith('+')
    ? [parsePhoneNumberFromString(s)]
    : [
        defaultCountry ? parsePhoneNumberFromString(s, defaultCountry) : undefined,
        /^[1-9][\d\s().-]{6,}$/.test(s) ? parsePhoneNumberFromString(`+${s.replace(/\D/g, '')}`) : undefined,
      ];
  const hit = candidates.find((n) => n?.isValid()) ?? candidates.find((n) => n?.isPossible());
  if (!hit) throw invalid(field, `"${raw}" is not a phone number`);
  return hit.number;
}
