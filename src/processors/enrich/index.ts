/**
 * The enricher the `enrich` stage (leads.raw → leads.enriched) runs on every lead: names, email
 * deliverability, phone, ZIP/postcode → time zone, job title.
 *
 * Contract: it never throws for a lead and never waits on a third party longer than the verifier
 * budget. Whatever cannot be known (verifier slow or down, ZIP unknown, title spam) is reported as
 * unknown/null with the reason, and the lead goes on. Only a bad configuration throws, at creation.
 *
 *   const enricher = createEnricher({ verifier: { url: 'http://127.0.0.1:4721/v1/verify' } });
 *   const enrichments = await enricher.enrichBatch(leads);   // verifier calls overlap within the batch
 *   await enricher.close();
 */
import { Abandoned } from '../../errors.js';
import type { EmailEnrichment, Enrichment, JobTitleEnrichment, Lead, PhoneEnrichment, TimezoneEnrichment } from '../../lead.js';
import { createZipTimezoneLookup, type ZipTimezoneLookup } from '../../lookup/zip-timezone.js';
import { enricherConfigSchema, type EnricherConfig, type EnricherConfigInput } from './config.js';
import { checkEmailLocally } from './email.js';
import { createEmailVerifier, type EmailVerifier, type VerifierStats } from './email-verifier.js';
import { createJobTitleNormalizer } from './job-title.js';
import { normalizeNames } from './names.js';
import { enrichPhone } from './phone.js';

export { enricherConfigSchema } from './config.js';
export type { EnricherConfig, EnricherConfigInput } from './config.js';
export type { VerifierStats } from './email-verifier.js';

export type EnricherOptions = EnricherConfigInput & {
  /** Clock for enrichedAt and UTC offsets; injectable for tests. */
  now?: () => Date;
  /** A shared ZIP table (it is loaded once per process anyway). */
  zipLookup?: ZipTimezoneLookup;
};

export interface Enricher {
  enrich(lead: Lead): Promise<Enrichment>;
  /** Enriches a batch with the verifier calls in parallel (capped); results in input order. */
  /**
   * Every lead of a batch; `abandoned` is asked between leads, and when it says so the batch stops
   * with Abandoned (its consumer group is rebalancing: nothing done here would be committed).
   */
  enrichBatch(leads: Lead[], abandoned?: () => boolean): Promise<Enrichment[]>;
  /** Verifier counters for metrics; null when the verifier is off. */
  verifierStats(): VerifierStats | null;
  close(): Promise<void>;
}

export function createEnricher(opts: EnricherOptions = {}): Enricher {
  const { now = () => new Date(), zipLookup, ...rest } = opts;
  const config: EnricherConfig = enricherConfigSchema.parse(rest);
  const zip = zipLookup ?? createZipTimezoneLookup();
  const titles = createJobTitleNormalizer({ minScore: config.jobTitle.minScore, cacheSize: config.jobTitle.cacheSize, dataDir: config.jobTitle.dataDir });
  const verifier: EmailVerifier | null = config.verifier ? createEmailVerifier(config.verifier) : null;

  async function email(raw: unknown): Promise<EmailEnrichment> {
    const local = checkEmailLocally(text(raw));
    if (local.settled) return local.settled;
    if (!verifier) return { address: local.address, status: 'unknown', reason: 'not_verified', source: 'local', suggestion: null };
    return verifier.verify(local.address);
  }

  async function enrich(lead: Lead): Promise<Enrichment> {
    const at = now();
    const input = (lead ?? {}) as Partial<Lead>;
    const country = input.country === 'GB' ? 'GB' : 'US';
    const emailPart = safeAsync(() => email(input.email), (): EmailEnrichment => ({
      address: text(input.email).trim().toLowerCase(),
      status: 'unknown',
      reason: 'enrich_error',
      source: 'local',
      suggestion: null,
    }));
    const name = safe(() => normalizeNames(text(input.firstName), text(input.lastName)), () => ({ first: text(input.firstName), last: text(input.lastName) }));
    const phone = safe((): PhoneEnrichment => enrichPhone(text(input.phone), country), () => ({ e164: null, type: null, valid: false, country: null, reason: 'enrich_error' }));
    const timezone = safe(
      (): TimezoneEnrichment => zip.lookup({ country, zip: optionalText(input.zip), postcode: optionalText(input.postcode) }, at),
      () => ({ zone: null, utcOffsetMinutes: null, dst: null, state: null, city: null, reason: 'enrich_error' }),
    );
    const jobTitle = safe((): JobTitleEnrichment => titles.normalize(text(input.jobTitle)), () => ({ raw: text(input.jobTitle), canonical: null, category: null, score: null }));
    return { name, email: await emailPart, phone, timezone, jobTitle, enrichedAt: at.getTime() };
  }

  return {
    enrich,
    async enrichBatch(leads, abandoned) {
      // Each lead's local work (names, phone, ZIP, job title) is synchronous, ~1 ms for a junk
      // title: a batch of hundreds in one go would hold the event loop long enough to starve
      // the consumer's heartbeat timer. So the loop yields between leads; verifier calls still
      // overlap, since a lead's promise is not awaited before the next lead starts.
      const pending: Promise<Enrichment>[] = [];
      for (const lead of leads) {
        if (pending.length > 0) await yieldToEventLoop();
        // A backlog's batches are CPU-bound for seconds: a rebalance must not wait for them
        // (chaos: a second enrich process joining waited 5-7 s while six of them finished).
        if (abandoned?.()) throw new Abandoned('the group is rebalancing');
        const enrichment = enrich(lead);
        enrichment.catch(() => {}); // observed by Promise.all below; no unhandled rejection while we yield
        pending.push(enrichment);
      }
      return Promise.all(pending);
    },
    verifierStats: () => verifier?.stats() ?? null,
    close: async () => {
      await verifier?.close();
    },
  };
}

/** setImmediate runs after pending I/O and due timers: a heartbeat waiting on the loop gets its turn. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A field as text; JSON from vendors can carry numbers (ZIP 10001) or nothing at all. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return '';
}

function optionalText(value: unknown): string | null {
  const t = text(value);
  return t === '' ? null : t;
}

/** A bug in one enrichment must not cost the lead the others. */
function safe<T>(fn: () => T, fallback: () => T): T {
  try {
    return fn();
  } catch {
    return fallback();
  }
}

async function safeAsync<T>(fn: () => Promise<T>, fallback: () => T): Promise<T> {
  try {
    return await fn();
  } catch {
    return fallback();
  }
}
