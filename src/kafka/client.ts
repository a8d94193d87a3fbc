/**
 * The seam around the Kafka client. KafkaJS is unmaintained since 2023 (see the README);
 * everything that touches its API lives in src/kafka so that a move to
 * @confluentinc/kafka-javascript or @platformatic/kafka stays local.
 */
import type { Admin, ITopicConfig, Kafka as KafkaClient } from 'kafkajs';
import kafkajs, { rejoinFixApplied } from './kafkajs.js';
import type { Logger } from 'pino';
import type { Env } from '../config.js';
import type { TopicSpec } from '../topology.js';
import { instanceClientId } from './predecessor.js';
import { DEFAULT_MAX_BATCH_BYTES, type ProduceLimits } from './produce-limits.js';
import { retryBriefly } from './backoff.js';
export { createDurableProducer, type DurableProducer } from './durable-producer.js';

export type { Kafka, Producer, Admin } from 'kafkajs';
// KafkaJS is CommonJS: Node's ESM loader sees only some of its named exports.
const { ConfigResourceTypes, Kafka, logLevel } = kafkajs;

type ClientEnv = Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID' | 'LEAD_ROUTER_INSTANCE'>;

/** lead-router-route, or lead-router-route@route-1 for a process with an instance name (src/kafka/predecessor.ts). */
/** The client id suffix of a process running these roles: lead-router-route, or lead-router-multi for several. */
export const roleClientSuffix = (roles: readonly string[]): string => (roles.length === 1 ? roles[0]! : 'multi');

export function kafkaClientId(env: ClientEnv, clientSuffix = ''): string {
  return instanceClientId(`${env.KAFKA_CLIENT_ID}${clientSuffix ? `-${clientSuffix}` : ''}`, env.LEAD_ROUTER_INSTANCE);
}

export function createKafka(env: ClientEnv, log: Logger, clientSuffix = '', opts: { retries?: number } = {}): KafkaClient {
  const child = log.child({ component: 'kafkajs' });
  if (!rejoinFixApplied) log.warn('KafkaJS was loaded before src/kafka/kafkajs.ts: a consumer whose coordinator moves may stay out of its group (import KafkaJS through that module)');
  return new Kafka({
    clientId: kafkaClientId(env, clientSuffix),
    brokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // Admin and consumer calls fail fast when the broker is not there at all; the stages wait
    // out outages themselves (backoff) and the supervisor restarts what gives up. Retries at
    // most 2 s apart: KafkaJS restarts a crashed consumer after the last retry's delay, which at
    // 5 s kept groups idle for up to 5 s after a restarted broker was back (~11 s of patience in
    // all, as before).
    retry: { retries: opts.retries ?? 8, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...extra } = entry;
      // "Response CreateTopics/InitProducerId/Heartbeat…" with an error: one broker answer that
      // KafkaJS handles itself (retries, rejoins; what it cannot handle reaches our code, which
      // says so). At error level a fresh stack's first start printed four of them (topics created
      // by several processes at once, coordinators still loading); kept at info for the chaos
      // analysis, which reads them.
      if (typeof message === 'string' && message.startsWith('Response ')) child.info(extra, message);
      else if (level <= logLevel.ERROR) child.error(extra, message);
      else child.warn(extra, message);
    },
  });
}

/**
 * The broker's real limits for the topics a stage writes (topic max.message.bytes, which Kafka
 * reports with the broker default applied), so produce requests are split to fit. Falls back to
 * Kafka's default when the broker does not say.
 */
export async function readProduceLimits(admin: Admin, topics: string[], maxRecords: number, override?: number): Promise<ProduceLimits> {
  const byTopic = new Map<string, number>();
  if (!override && topics.length > 0) {
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    for (const r of res.resources) {
      const v = Number(r.configEntries.find((c) => c.configName === 'max.message.bytes')?.configValue);
      if (Number.isFinite(v) && v > 0) byTopic.set(r.resourceName, v);
    }
  }
  const fallback = override ?? Math.min(DEFAULT_MAX_BATCH_BYTES, ...byTopic.values());
  return { maxBatchBytes: (topic) => byTopic.get(topic) ?? fallback, maxRecords };
}

/**
 * Creates the topics that are missing (existing ones are left alone, partitions never shrunk),
 * safely with any number of processes doing the same. A topic another process has just created
 * is listed before its partitions have leaders, and metadata requests answer "This server does
 * not host this topic-partition" for a moment: a chaos-run process exited at start on that.
 * Such retriable answers are waited out (30 s at most).
 */
export async function ensureTopics(admin: Admin, topics: TopicSpec[], opts: { waitMs?: number; sleep?: (ms: number) => Promise<void> } = {}): Promise<string[]> {
  return retryBriefly(() => createMissing(admin, topics), opts);
}

async function createMissing(admin: Admin, topics: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t.name))
    .map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: t.replicationFactor,
      configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another process created some in between (TOPIC_ALREADY_EXISTS): only real failures matter.
    const now = new Set(await admin.listTopics());
    const still = missing.filter((m) => !now.has(m.topic));
    if (still.length > 0) throw err;
  }
  return missing.map((m) => m.topic);
}

export async function withAdmin<T>(kafka: KafkaClient, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
