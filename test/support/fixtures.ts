/** Leads for tests: a valid US lead body, and events at each stage of the pipeline. */
import type { Enrichment, LeadEvent } from '../../src/lead.js';
import { parseRouterFile, type RouterFile } from '../../src/config.js';
import fs from 'node:fs';

export function usLeadBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    firstName: 'Jane',
    lastName: 'Doe',
    email: 'jane.doe@example.com',
    phone: '(415) 555-0132',
    zip: '94103',
    country: 'US',
    jobTitle: 'CNA - Certified Nursing Assistant - Nights',
    source: 'jobs-board',
    vendor: 'acme-leads',
    consent: { sms: true, at: '2026-11-23T10:00:00Z' },
    ...overrides,
  };
}

export function ukLeadBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { zip: _zip, ...us } = usLeadBody();
  return { ...us, country: 'GB', postcode: 'SW1A 1AA', phone: '07911 123456', email: 'tom.smith@example.co.uk', firstName: 'Tom', lastName: 'Smith', ...overrides };
}

export function enrichment(overrides: Partial<Enrichment> = {}): Enrichment {
  return {
    name: { first: 'Jane', last: 'Doe' },
    email: { address: 'jane.doe@example.com', status: 'valid', reason: 'mailbox_exists', source: 'verifier', suggestion: null },
    phone: { e164: '+14155550132', type: 'FIXED_LINE_OR_MOBILE', valid: true, country: 'US', reason: null },
    timezone: { zone: 'America/Los_Angeles', utcOffsetMinutes: -480, dst: true, state: 'CA', city: 'San Francisco', reason: null },
    jobTitle: { raw: 'CNA', canonical: 'Certified Nursing Assistant', category: 'Healthcare', score: 0.95 },
    enrichedAt: 1_700_000_000_000,
    ...overrides,
  };
}

export function leadEvent(overrides: Partial<LeadEvent> = {}): LeadEvent {
  return {
    leadId: '0190c0de-0000-7000-8000-000000000001',
    receivedAt: 1_700_000_000_000,
    hops: ['ingest', 'enrich'],
    firstName: 'Jane',
    lastName: 'Doe',
    email: 'jane.doe@example.com',
    phone: '(415) 555-0132',
    zip: '94103',
    postcode: null,
    country: 'US',
    jobTitle: 'CNA',
    source: 'jobs-board',
    vendor: 'acme-leads',
    vendorLeadId: null,
    consent: { sms: true, email: null, at: '2026-11-23T10:00:00Z', text: null, ip: null },
    enrichment: enrichment(),
    delivery: null,
    rejection: null,
    deadLetter: null,
    ...overrides,
  };
}

/** The shipped config/router.yaml, parsed: tests exercise the real rules. */
export function shippedRouterConfig(): RouterFile {
  return parseRouterFile(fs.readFileSync('config/router.yaml', 'utf8'), 'config/router.yaml');
}
