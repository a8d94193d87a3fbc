/**
 * Phone → E.164 with libphonenumber-js. The `max` metadata is the large build (~145 KB), chosen
 * because only it knows number types: SMS routing needs MOBILE vs FIXED_LINE, and the small
 * builds answer undefined for every type.
 *
 * National numbers are read in the lead's market (US leads: US; UK leads: GB); a number written
 * with its own +country code keeps it. An invalid number never drops the lead: it comes back
 * `valid: false`, `e164: null` and the reason.
 */
import { parsePhoneNumberFromString, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js/max';
import type { PhoneEnrichment } from '../../lead.js';

export function enrichPhone(raw: string | null | undefined, leadCountry: 'US' | 'GB'): PhoneEnrichment {
  const input = (raw ?? '').trim();
  if (input === '') return invalid('empty');
  const defaultCountry: CountryCode = leadCountry === 'GB' ? 'GB' : 'US';

  const parsed = parsePhoneNumberFromString(input, defaultCountry);
  if (!parsed) {
    // Why it failed, in libphonenumber's words: NOT_A_NUMBER, INVALID_COUNTRY, TOO_SHORT, TOO_LONG...
    return invalid((validatePhoneNumberLength(input, defaultCountry) ?? 'NOT_A_NUMBER').toLowerCase());
  }
  if (!parsed.isValid()) {
    const lengthProblem = validatePhoneNumberLength(input, defaultCountry);
    return { ...invalid(lengthProblem ? lengthProblem.toLowerCase() : 'invalid_number'), country: parsed.country ?? null };
  }
  return { e164: parsed.number, type: parsed.getType() ?? null, valid: true, country: parsed.country ?? null, reason: null };
}

function invalid(reason: string): PhoneEnrichment {
  return { e164: null, type: null, valid: false, country: null, reason };
}
