/**
 * The JSON schema a vendor's lead must satisfy. Fastify validates with Ajv (allErrors on, so a
 * 400 names every offending field at once). Unknown fields are dropped, not rejected: vendors
 * send extras and that is no reason to lose a lead.
 *
 * Patterns run on untrusted input, so two rules hold for every one of them:
 *  - linear time: no two quantifiers can claim the same character (test/unit/regex-safety.test.ts
 *    proves it with the recheck ReDoS checker). This is the real defence: with allErrors Ajv runs
 *    every keyword of a field, so keyword order alone never keeps a pattern off a long value.
 *  - length first: each pattern sits in the `then` of an `if: {maxLength}`, so it only ever sees a
 *    value of allowed length; an over-long one is refused by its length alone, with one clear error
 *    instead of two. (Ajv evaluates `then` only when `if` passed, allErrors or not.)
 */

// Characters no name or label legitimately holds: C0 and C1 controls (tab and newline too: these
// are one-line fields), the line and paragraph separators, zero-width characters and the BOM, and
// the bidi embeddings, overrides and isolates that make text display other than it reads.
const INVISIBLE = '\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200d\\u2028\\u2029\\u202a-\\u202e\\u2060\\u2066-\\u2069\\ufeff';
// Whitespace (\s) minus INVISIBLE: the ordinary and typographic spaces.
const SPACES = ' \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000';

/** Free text: leading spaces, then one visible character, then anything but INVISIBLE. */
export const FREE_TEXT = `^[${SPACES}]*[^\\s${INVISIBLE}][^${INVISIBLE}]*$`;
// name@domain.tld; the domain is read up to its first dot after the first character, so the
// three runs never compete for a character (the old `[^\s@]+\.[^\s@]+` was quadratic).
export const EMAIL = `^[^\\s@${INVISIBLE}]+@[^\\s@${INVISIBLE}][^\\s@.${INVISIBLE}]*\\.[^\\s@${INVISIBLE}]+$`;
// At least seven digits, each followed by its own separators: a phone must hold digits.
const PHONE_SEPARATORS = `+().\\-${SPACES}`;
export const PHONE = `^[${PHONE_SEPARATORS}]*(?:\\d[${PHONE_SEPARATORS}]*){7,}$`;
export const US_ZIP = '^\\d{5}(-\\d{4})?$';
// UK postcode, outward + inward code, optional space (e.g. "SW1A 1AA", "M1 1AE", "EC1A1BB").
export const UK_POSTCODE = '^[A-Za-z]{1,2}\\d[A-Za-z\\d]?\\s*\\d[A-Za-z]{2}$';

/** What a vendor reads in the 400 instead of a raw regular expression. */
export const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [FREE_TEXT]: 'must contain a visible character and no control, zero-width or bidi-control characters',
  [EMAIL]: 'must be an e-mail address like name@example.com',
  [PHONE]: 'must be a phone number: at least 7 digits, with only spaces and + ( ) . - between them',
  [US_ZIP]: 'must be a US ZIP code like 94103 or 94103-1234',
  [UK_POSTCODE]: 'must be a UK postcode like SW1A 1AA',
};

/** A string pattern that only runs on a value within `max` characters. */
const guarded = (max: number, pattern: string, min = 0) =>
  ({
    type: 'string',
    ...(min > 0 ? { minLength: min } : {}),
    maxLength: max,
    if: { type: 'string', maxLength: max },
    then: { type: 'string', pattern },
  }) as const;

const text = (max: number) => guarded(max, FREE_TEXT, 1);

export const leadBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['firstName', 'lastName', 'email', 'phone', 'country', 'jobTitle', 'source', 'consent'],
  properties: {
    firstName: text(100),
    lastName: text(100),
    email: guarded(254, EMAIL, 3),
    phone: guarded(32, PHONE, 7),
    zip: guarded(10, US_ZIP),
    postcode: guarded(16, UK_POSTCODE),
    country: { type: 'string', enum: ['US', 'GB', 'UK'] },
    jobTitle: text(200),
    source: text(100),
    // Ignored: the lead's vendor is the one whose API key posted it. Still checked, so a vendor
    // that always sent it learns of a malformed value instead of having it silently dropped.
    vendor: { ...text(100), description: 'Ignored: the vendor is taken from the x-api-key credential.' },
    vendorLeadId: text(200),
    consent: {
      type: 'object',
      additionalProperties: false,
      required: ['sms', 'at'],
      properties: {
        sms: { type: 'boolean' },
        email: { type: 'boolean' },
        // date-time is checked by ajv-formats' own linear patterns; the cap keeps them short too.
        at: { type: 'string', maxLength: 64, format: 'date-time' },
        text: { type: 'string', maxLength: 2000 },
        ip: { type: 'string', maxLength: 64 },
        // TrustedForm / Jornaya LeadiD certificate: travels to buyers as consent evidence.
        certificateUrl: { type: 'string', maxLength: 2000, format: 'uri', description: 'Consent certificate URL (TrustedForm, Jornaya LeadiD).' },
      },
    },
  },
  // A US lead needs a ZIP, a UK lead a postcode: the timezone and the market depend on it.
  allOf: [
    { if: { properties: { country: { const: 'US' } }, required: ['country'] }, then: { required: ['zip'] } },
    { if: { properties: { country: { enum: ['GB', 'UK'] } }, required: ['country'] }, then: { required: ['postcode'] } },
  ],
} as const;
