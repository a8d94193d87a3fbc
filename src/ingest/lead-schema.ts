/**
 * The JSON schema a vendor's lead must satisfy. Fastify validates with Ajv (allErrors on, so a
 * 400 names every offending field at once). Unknown fields are dropped, not rejected: vendors
 * send extras and that is no reason to lose a lead.
 */
export const US_ZIP = '^\\d{5}(-\\d{4})?$';
// UK postcode, outward + inward code, optional space (e.g. "SW1A 1AA", "M1 1AE", "EC1A1BB").
export const UK_POSTCODE = '^[A-Za-z]{1,2}\\d[A-Za-z\\d]?\\s*\\d[A-Za-z]{2}$';

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max, pattern: '\\S' }) as const;

export const leadBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['firstName', 'lastName', 'email', 'phone', 'country', 'jobTitle', 'source', 'vendor', 'consent'],
  properties: {
    firstName: text(100),
    lastName: text(100),
    email: { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' },
    phone: { type: 'string', minLength: 7, maxLength: 32, pattern: '^[+()\\d\\s.\\-]+$' },
    zip: { type: 'string', pattern: US_ZIP },
    postcode: { type: 'string', pattern: UK_POSTCODE },
    country: { type: 'string', enum: ['US', 'GB', 'UK'] },
    jobTitle: text(200),
    source: text(100),
    vendor: text(100),
    vendorLeadId: text(200),
    consent: {
      type: 'object',
      additionalProperties: false,
      required: ['sms', 'at'],
      properties: {
        sms: { type: 'boolean' },
        email: { type: 'boolean' },
        at: { type: 'string', format: 'date-time' },
        text: { type: 'string', maxLength: 2000 },
        ip: { type: 'string', maxLength: 64 },
      },
    },
  },
  // A US lead needs a ZIP, a UK lead a postcode: the timezone and the market depend on it.
  allOf: [
    { if: { properties: { country: { const: 'US' } }, required: ['country'] }, then: { required: ['zip'] } },
    { if: { properties: { country: { enum: ['GB', 'UK'] } }, required: ['country'] }, then: { required: ['postcode'] } },
  ],
} as const;
