/**
 * All configuration in one validated place: infrastructure from the environment, business
 * rules (destinations, routing, retry policy) from a YAML file. Validation happens once at
 * start-up and reports every problem at once; the result is frozen.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { distributionSchema, type DistributionBuyer } from './distribution/buyer-schema.js';
import { enricherConfigSchema } from './processors/enrich/config.js';
import { checkRoutingReferences, routingSchema } from './processors/route/rules-schema.js';
import { insecureUrlProblem, isLoopbackUrl } from './security/destinations.js';
import { securitySchema } from './security/security-config.js';
import { quietHoursConfigSchema } from './sinks/sms/quiet-hours.js';

const market = z.enum(['US', 'UK']);

/** Provider-specific fields are validated by the adapter's own schema (src/sinks/sms/adapters). */
const smsProviderSchema = z
  .looseObject({
    kind: z.enum(['twilio', 'json', 'xml']).describe('Which wire format the provider speaks.'),
    markets: z.array(market).min(1).describe('Markets this provider may text.'),
  });

export const routerFileSchema = z
  .object({
    // Buyers with their terms (schedule, caps, filters, price, reply mapping) and buyer groups.
    primary: distributionSchema,
    sms: z.object({ providers: z.record(z.string(), smsProviderSchema) }).strict(),
    search: z.object({ index: z.string().default('leads') }).strict(),
    smsPolicy: z
      .object({
        quietHours: quietHoursConfigSchema.prefault({}).describe("Local window texts may go out in, per market (lead's timezone; unknown zone: the country's most restrictive)."),
        dedupWindowMs: z.number().int().min(0).default(86_400_000).describe('The same phone is not texted twice within this window, whichever vendor or source.'),
        template: z.string().optional().describe('First message; placeholders {firstName} {jobTitle} {city}. Opt-out wording is always kept.'),
        breakerFailures: z.number().int().positive().default(5).describe('Consecutive failures that open a provider\'s circuit (it is skipped, fallback used).'),
        breakerResetMs: z.number().int().positive().default(5_000).describe('How long an open circuit skips the provider before one trial text (the rest of its job, and a trial refused, fall back as usual).'),
      })
      .strict()
      .prefault({}),
    routing: routingSchema,
    security: securitySchema.prefault({}),
    enrichment: enricherConfigSchema.prefault({}),
    retry: z
      .object({
        baseDelayMs: z.number().int().positive().default(1000),
        maxDelayMs: z.number().int().positive().default(300_000),
        maxAttempts: z.number().int().positive().default(8),
        maxAgeMs: z.number().int().positive().default(86_400_000),
      })
      .strict(),
  })
  .strict()
  .superRefine((file, ctx) => {
    // Cross-references: a rule may only name destinations that exist.
    for (const issue of checkRoutingReferences(file.routing, Object.keys(file.primary.buyers), Object.keys(file.sms.providers), Object.keys(file.primary.groups))) {
      ctx.addIssue({ code: 'custom', ...issue });
    }
    // Destinations that carry secrets or personal data: https, unless loopback or allowInsecure.
    const insecure = (path: (string | number)[], url: unknown, allow: unknown) => {
      const problem = insecureUrlProblem(url, allow);
      if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
    };
    for (const [id, b] of Object.entries(file.primary.buyers)) {
      insecure(['primary', 'buyers', id, 'url'], b.url, b.allowInsecure);
      if (!b.secret && !isLoopbackUrl(b.url)) ctx.addIssue({ code: 'custom', path: ['primary', 'buyers', id, 'secret'], message: 'a buyer webhook off this machine must be signed: add secret: whsec_… (Standard Webhooks)' });
      // A ping carries no personal data, but a bid is money: same rule as the webhook.
      if (b.ping) insecure(['primary', 'buyers', id, 'ping', 'url'], b.ping.url, b.allowInsecure);
    }
    for (const buyer of Object.keys(file.security.buyers)) {
      if (!Object.hasOwn(file.primary.buyers, buyer)) ctx.addIssue({ code: 'custom', path: ['security', 'buyers', buyer], message: `unknown buyer "${buyer}" (keys are for buyers in primary.buyers)` });
    }
    for (const [id, p] of Object.entries(file.sms.providers)) insecure(['sms', 'providers', id, 'baseUrl'], p.baseUrl, p.allowInsecure);
    const v = file.enrichment.verifier;
    if (v) insecure(['enrichment', 'verifier', 'url'], v.url, v.allowInsecure);
  });

export type RouterFile = z.infer<typeof routerFileSchema>;
export type BuyerConfig = DistributionBuyer;
export type SmsProviderConfig = z.infer<typeof smsProviderSchema>;
export type { RoutingRule } from './processors/route/rules-schema.js';
export type RetryPolicy = RouterFile['retry'];

const envSchema = z.object({
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092').describe('Comma-separated bootstrap brokers.'),
  KAFKA_CLIENT_ID: z.string().default('lead-router'),
  LEAD_ROUTER_INSTANCE: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional().describe('A stable name per process slot (npm start sets it; a StatefulSet pod or systemd instance name): a restarted process takes its dead predecessor\'s partitions at once, not after a session timeout.'),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7').describe('Confluent-compatible registry API.'),
  MONGO_URL: z.string().default('mongodb://127.0.0.1:27017/leadrouter').describe('Lead history database.'),
  ES_URL: z.url().default('http://127.0.0.1:9200').describe('Elasticsearch for the search sink.'),
  HOST: z.string().default('127.0.0.1').describe('Ingest bind address.'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Ingest port.'),
  ROUTER_CONFIG: z.string().default('config/router.yaml').describe('Business configuration file.'),
  TOPIC_PARTITIONS: z.coerce.number().int().positive().default(6),
  TOPIC_REPLICATION_FACTOR: z.coerce.number().int().positive().default(1).describe('Use 3 (with min.insync.replicas=2) in production.'),
  TOPIC_PREFIX: z.string().default('').describe('Prefix for every topic and consumer group (tests use it to isolate runs).'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SENTRY_DSN: z.string().optional(),
  INGEST_MAX_BODY_BYTES: z.coerce.number().int().positive().default(16_384),
  INGEST_BATCH_MAX: z.coerce.number().int().positive().default(500).describe('Most leads in one produce call.'),
  INGEST_LINGER_MS: z.coerce.number().int().min(0).default(2).describe('How long ingest waits to fill a produce batch.'),
  INGEST_DEDUP_WINDOW_MS: z.coerce.number().int().positive().default(86_400_000).describe('Repeated vendor lead ids within this window return the original leadId.'),
  INGEST_DEDUP_MAX: z.coerce.number().int().positive().default(500_000),
  HISTORY_WRITES_IN_FLIGHT: z.coerce.number().int().positive().default(2).describe('History writes a sink-history process has in flight at once (of the partitions it works at once): the store\'s CPU is shared with the SMS and buyer stores on the delivery path.'),
  HISTORY_TTL_DAYS: z.coerce.number().int().positive().default(180).describe('History events are deleted this long after they happened.'),
  TOPIC_MAX_MESSAGE_BYTES: z.coerce.number().int().positive().optional().describe('max.message.bytes set on topics the router creates (default: the broker\'s). Produce requests are split to fit whatever the broker reports.'),
  PRODUCER_LANES: z.coerce.number().int().positive().default(1).describe('Idempotent producers per process, each with one request in flight (src/kafka/durable-producer.ts). More did not help on 2 cores (README, Measured).'),
  PRODUCE_MAX_RECORDS: z.coerce.number().int().positive().default(1000).describe('Most records in one produce request (requests are also split by the broker\'s size limit).'),
  KAFKA_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(0).default(250).describe('How long a fetch waits for KAFKA_FETCH_MIN_BYTES of data before returning what there is.'),
  KAFKA_FETCH_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1024).default(262_144).describe('Most bytes one fetch brings per partition (KafkaJS default 1 MB): with 6 partitions worked at once, what a stage holds in memory after a backlog is about this times the partitions.'),
  KAFKA_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).default(100).describe('A stage sends its finished batches\' offsets together, at most this often (0: one commit per batch). Longer means fewer requests and, after a crash, up to this much work read again.'),
  KAFKA_FETCH_MIN_BYTES: z.coerce.number().int().positive().default(1).describe('Bytes a stage\'s fetch waits for (up to KAFKA_FETCH_MAX_WAIT_MS): 1 returns at the first record; more makes larger batches and fewer requests on a busy machine.'),
  INGEST_MAX_PENDING: z.coerce.number().int().positive().default(20_000).describe('Leads waiting for Kafka\'s acknowledgement above which ingest answers 503 + Retry-After instead of queueing more.'),
  INGEST_SHED_AFTER_MS: z.coerce.number().int().positive().default(2000).describe('Ingest answers 503 + Retry-After while a produce has waited this long for Kafka (well before INGEST_PRODUCE_TIMEOUT_MS).'),
  CREDENTIAL_PEPPER: z.string().min(16).optional().describe('Secret key of the HMAC that vendor keys and operator tokens are stored under (default: the public development pepper).'),
  INGEST_PRODUCE_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000).describe('Ingest answers 503 when Kafka has not acknowledged a lead within this time.'),
  ADMIN_HOST: z.string().default('127.0.0.1').describe('Bind address of every role\'s admin server (/healthz, /readyz, /metrics).'),
  ENRICH_AND_ROUTE_TOGETHER: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1')
    .describe('Run enrich and route as one consumer (one Kafka hop less per lead; leads.enriched is still written).'),
  LAG_MONITOR_EVERY_MS: z.coerce.number().int().positive().default(10_000).describe('How often every process reads every group\'s lag from the broker (metrics, status).'),
  ADMIN_TARGETS: z.string().default('ingest=http://127.0.0.1:9464,enrich=http://127.0.0.1:9465,route=http://127.0.0.1:9466,sinks=http://127.0.0.1:9467,history=http://127.0.0.1:9468').describe('Role processes\' admin ports for `lead-router status` and the dashboard: comma-separated name=url (default: npm start\'s five processes; empty: none).'),
  ADMIN_PORT: z.coerce.number().int().min(0).max(65535).default(9464).describe('Admin server port (0: any free port, printed at start).'),
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(400).default(75).describe('After each full garbage collection a role\'s JS heap may grow to (1 + this/100) × what is live before the next (V8 flag --heap-growing-percent; 0: V8\'s own factor, up to 4×, which let the deliver process reach 575 MB RSS at 102,000 leads/min for ~100 MB live).'),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(9000).describe('On SIGTERM, in-flight batches get this long to finish before the process exits anyway.'),
  BACKUP_HOLD_HORIZON_MS: z.coerce.number().int().positive().default(30_000).describe('Longest a backup record is held in memory before it is re-queued.'),
  BACKUP_MAX_HELD: z.coerce.number().int().positive().default(20_000),
  QUIET_HOURS_HOLD_HORIZON_MS: z.coerce.number().int().positive().default(300_000).describe('Longest a text deferred by quiet hours is held in memory before it is re-queued: its window opens hours later, and re-queuing every held text each 30 s (the backup horizon) cost 8× the lead rate in produces and fetches at night.'),
  PUBLIC_BASE_URL: z.url().optional().describe('Where SMS providers reach ingest for delivery receipts and replies (e.g. https://leads.example.com).'),
  LEAD_ROUTER_CLOCK_FILE: z.string().optional().describe('Tests only: a file with a clock offset in ms, read by every process.'),
  RETRY_PER_SECOND: z.coerce.number().int().positive().default(50).describe('Retries and replays a deliver process sends per destination per second, in the retry stages (groups of their own, so they never queue in front of first deliveries; raise it to drain a retry backlog faster).'),
  SINK_MAX_IN_FLIGHT: z.coerce.number().int().positive().default(1000).describe('Leads a deliver stage works on at once before it pauses fetching (its batches are pipelined).'),
  PARTITIONS_CONCURRENTLY: z.coerce.number().int().positive().default(6),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000).default(30_000).describe('Consumer session timeout: how fast a dead process\'s partitions move to another.'),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env;
  router: RouterFile;
  /** Where the router file was read from (for logs and reloads). */
  routerPath: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatIssues(where: string, error: z.ZodError): string {
  return `${where}:\n` + error.issues.map((i) => `  - ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

export function parseRouterFile(text: string, where: string): RouterFile {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (err) {
    throw new ConfigError(`${where}: not valid YAML: ${(err as Error).message}`);
  }
  const parsed = routerFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(formatIssues(where, parsed.error));
  return parsed.data;
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  const env = envSchema.safeParse(environment);
  if (!env.success) throw new ConfigError(formatIssues('environment', env.error));
  const routerPath = path.resolve(env.data.ROUTER_CONFIG);
  let text: string;
  try {
    text = fs.readFileSync(routerPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`ROUTER_CONFIG: cannot read ${routerPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const router = parseRouterFile(text, routerPath);
  return deepFreeze({ env: env.data, router, routerPath });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
