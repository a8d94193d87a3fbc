/**
 * How many SMS segments a text costs. Providers bill per segment, and one stray character (a
 * curly quote, an emoji) switches the whole message from GSM-7 (160 chars) to UCS-2 (70), so the
 * template checks this before it sends.
 *
 * Rules (3GPP TS 23.038 / 23.040):
 * - GSM-7 if every character is in the basic table or the extension table; an extension
 *   character costs 2 septets (escape + char). 160 septets fit one segment; a multi-part message
 *   carries a 7-septet header, leaving 153 per segment.
 * - Otherwise UCS-2: UTF-16 code units, 70 in one segment, 67 per part (6-byte header).
 * - A part never splits an escape pair or a surrogate pair (handsets and providers keep them
 *   together), so parts are packed greedily instead of dividing the total, which would undercount.
 */

/** GSM 03.38 basic character set (the escape slot 0x1B is not a character). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** GSM 03.38 extension table: each costs 2 septets. */
const GSM_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(GSM_BASIC);
const EXTENSION = new Set(GSM_EXTENSION);

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: SmsEncoding;
  /** Parts the message is sent as (0 for an empty text). */
  segments: number;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
}

export const GSM7_SINGLE = 160;
export const GSM7_PART = 153;
export const UCS2_SINGLE = 70;
export const UCS2_PART = 67;

export function isGsm7Char(ch: string): boolean {
  return BASIC.has(ch) || EXTENSION.has(ch);
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!isGsm7Char(ch)) return false;
  return true;
}

export function countSegments(text: string): SegmentCount {
  if (isGsm7(text)) {
    // Iterating a string yields code points; every GSM character is a single code unit.
    const costs = Array.from(text, (ch) => (EXTENSION.has(ch) ? 2 : 1));
    return pack('GSM-7', costs, GSM7_SINGLE, GSM7_PART);
  }
  // Code points: astral characters (emoji) cost 2 code units and stay whole within a part.
  const costs = Array.from(text, (ch) => ch.length);
  return pack('UCS-2', costs, UCS2_SINGLE, UCS2_PART);
}

function pack(encoding: SmsEncoding, costs: number[], single: number, part: number): SegmentCount {
  const units = costs.reduce((a, b) => a + b, 0);
  if (units === 0) return { encoding, segments: 0, units };
  if (units <= single) return { encoding, segments: 1, units };
  let segments = 1;
  let used = 0;
  for (const c of costs) {
    if (used + c > part) {
      segments++;
      used = 0;
    }
    used += c;
  }
  return { encoding, segments, units };
}
